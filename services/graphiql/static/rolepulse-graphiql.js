// Starts GraphiQL on the page served at GET /graphql (services/graphiql/__init__.py). A file of
// its own, not an inline script, so the page's CSP can allow scripts from our origin only.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  // GraphiQL's dialogs insert <style> elements; their library (react-style-singleton) gives
  // them the nonce found in this global, which the page's CSP allows for styles.
  window.__webpack_nonce__ = root.dataset.styleNonce;

  // The page's own URL, without query or fragment: queries go where the page came from, also
  // behind a proxy that serves the API under a path prefix.
  var url = window.location.href.split(/[?#]/)[0];
  var fetcher = GraphiQL.createFetcher({
    url: url,
    // A plain JSON POST per operation (no multipart incremental delivery, which the API does
    // not use); GraphiQL adds content-type application/json and any headers typed in its
    // headers editor (an API key, for instance).
    enableIncrementalDelivery: false,
    headers: { accept: "application/json" },
    // Subscription operations go over graphql-transport-ws on the same path.
    subscriptionUrl: url.replace(/^http/, "ws"),
  });

  function text(id) {
    return document.getElementById(id).textContent.trim();
  }

  function firstVisit() {
    try {
      // GraphiQL keeps its tabs in localStorage under this key (its "graphiql" namespace).
      return window.localStorage.getItem("graphiql:tabState") === null;
    } catch (e) {
      return true; // storage blocked: GraphiQL starts afresh every time
    }
  }

  // A query handed over in the fragment (`/graphql#query=...&variables=...`, the pages' "query
  // behind this page" links): in the fragment, not the query string, because a GET with a
  // `query` parameter runs the query instead of opening GraphiQL, and a fragment never reaches
  // the server (nor its URL-length limit).
  function handedOver() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    var query = params.get("query");
    return query === null ? null : { query: query, variables: params.get("variables") || "" };
  }

  var props = {
    fetcher: fetcher,
    // The contract query, for a first visit; later visits reopen the tabs left open.
    defaultQuery: text("rolepulse-default-query") + "\n",
    defaultEditorToolsVisibility: true,
    // Headers typed in the editor (credentials, perhaps) stay in this tab only.
    shouldPersistHeaders: false,
  };
  var given = handedOver();
  if (given !== null) {
    // GraphiQL opens the tab holding exactly this query and these variables, or adds one.
    props.query = given.query;
    props.variables = given.variables;
  } else if (firstVisit()) {
    // GraphiQL has no default for the variables editor, and a `variables` prop replaces what
    // the editor held: given only when there is nothing to replace.
    props.variables = text("rolepulse-default-variables");
  }
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
