"""Entry points: the command line and the GraphQL service. They translate requests into use cases of
the service layer and its answers back; the rules themselves live in the service layer."""
