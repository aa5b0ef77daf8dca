"""Entry points: the HTTP app (`app.py`, with the dashboard's routes), the GraphQL schema (`graphql/`)
and the command line (`cli/`). They translate requests into use cases of the service layer and its
answers back; the rules themselves live in the service layer.

May import: the domain's value types, the ports' errors and the service layer (`NetworkService`, its
read model `service.views` and its `consistent()` context for one version per request). Not the
engine or its lock, and never an adapter: they get the service they run from `graph_service.bootstrap`.
"""
