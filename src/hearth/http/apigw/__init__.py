"""API Gateway in front of functions: REST APIs (payload 1.0) and HTTP APIs (1.0 / 2.0),
with Lambda authorizers. The control plane (CreateRestApi, CreateRoute...) is another
service's; Hearth reads the definitions through `ApiDefinitions` and serves the requests."""
