"""The fake Application Load Balancer of the sandbox: its listeners (``listeners.py``, one router on
loopback per listener), the listener weights, targets and health checks it keeps
(``balancer.py``), and the target health state machine (``target_health.py``).

Nothing is imported here: the patched moto (a child process) reads ``target_health`` alone.
"""
