import Rollout
