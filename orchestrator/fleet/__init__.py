"""Fleet rollouts: many services of one environment in dependency-ordered waves (`bluegreen fleet`).
Planning is pure; running goes through each service's own engine."""
