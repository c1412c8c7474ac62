"""Canary analysis: the statistical judge (green against blue over the same window), its catalog
settings, and what reads the metrics it judges. Pure except the adapters it is handed."""
