// Starts the vendored GraphiQL against this service's /graphql. When the dashboard holds a token for
// this browser tab (sessionStorage), GraphiQL starts with it in the Authorization header; a `query`
// (and `variables`) URL parameter opens GraphiQL on that operation, for links to a ready query.
(function () {
  "use strict";
  var token = null;
  try { token = window.sessionStorage.getItem("graph-service-token"); } catch (e) { token = null; }
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + "/graphql" });
  var props = { fetcher: fetcher, defaultEditorToolsVisibility: true };
  var params = new URLSearchParams(window.location.search);
  if (params.get("query")) props.query = params.get("query");
  if (params.get("variables")) props.variables = params.get("variables");
  if (token) {
    props.defaultHeaders = JSON.stringify({ Authorization: "Bearer " + token }, null, 2);
  }
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, props));
})();
