"""Entry points: the command line and the GraphQL service. They translate requests into use cases of
the service layer and its answers back; the rules themselves live in the service layer.

May import the service layer, the domain, the ports' errors and (until the service layer offers the
reads itself) the engine's value types; never an adapter: they get the service they run from
`graph_service.bootstrap`.
"""
