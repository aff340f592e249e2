"""CI pipeline runs (Model 1/2), the local git server and push webhooks."""
