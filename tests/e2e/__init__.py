"""End-to-end tests: HTTP (GraphQL, dashboard), the command line, the browser, the seed demo."""
