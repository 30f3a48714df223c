// Live figures for the pages of services/pages: the page subscribes (graphql-transport-ws, on
// the API's own /graphql) to the figures it shows, and when one changes it fetches itself again
// and swaps in its new <main>. So the numbers are formatted and the charts drawn in one place,
// the server, and a page is complete without this script. A file of its own, not inline: the
// pages' CSP runs scripts from our origin only.
(function () {
  "use strict";
  var block = document.getElementById("rolepulse-live");
  if (!block || !window.WebSocket || !window.fetch || !window.DOMParser) {
    return; // the page as served stays as it is
  }
  var config = JSON.parse(block.textContent);
  var status = document.getElementById("live-status");
  var etag = config.etag; // the data version the page shows (null: unknown)
  var retryMs = 1000;
  var timer = null;
  var fetching = false;
  var again = false;

  function endpoint() {
    var url = new URL(config.endpoint, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  // Open <details> by their summary's text, so a swap does not close what the reader opened.
  function openDetails(root) {
    var open = {};
    root.querySelectorAll("details[open] > summary").forEach(function (s) {
      open[s.textContent] = true;
    });
    return open;
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("content");
    var current = document.getElementById("content");
    if (!fresh || !current) {
      return;
    }
    var open = openDetails(current);
    fresh.querySelectorAll("details > summary").forEach(function (s) {
      if (open[s.textContent]) {
        s.parentNode.setAttribute("open", "");
      }
    });
    current.replaceWith(document.adoptNode(fresh));
    document.title = doc.title;
    document.documentElement.setAttribute("data-live-updates", String(
      Number(document.documentElement.getAttribute("data-live-updates") || "0") + 1));
  }

  // Fetch the page again (revalidated by its ETag: unchanged figures cost a 304) and swap in
  // its figures if the data version moved. Changes arriving meanwhile fold into one more fetch.
  function refresh() {
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    fetch(window.location.href, { headers: { accept: "text/html" }, cache: "no-cache" })
      .then(function (response) {
        var tag = response.headers.get("etag");
        if (!response.ok || (tag && tag === etag)) {
          return null;
        }
        return response.text().then(function (html) {
          swap(html);
          etag = tag;
        });
      })
      .catch(function () {
        // offline for a moment: the next change tries again
      })
      .then(function () {
        fetching = false;
        // The page has been checked against the data version at least once since it was
        // served (tests wait for this before they navigate away from a page mid-fetch).
        document.documentElement.setAttribute("data-live-checked", "");
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  function changed() {
    // Several subscriptions answer one commit: one fetch for all of them.
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 100);
  }

  function connect() {
    var socket = new WebSocket(endpoint(), "graphql-transport-ws");
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "connection_init", payload: {} }));
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        retryMs = 1000;
        if (status) {
          status.hidden = false;
        }
        config.subscriptions.forEach(function (subscription, index) {
          socket.send(JSON.stringify({ id: String(index + 1), type: "subscribe", payload: subscription }));
        });
      } else if (message.type === "next") {
        // The first answer of each is the current value: a change since the page was served
        // (or while the socket was down) shows up as a new ETag, anything else costs a 304.
        changed();
      } else if (message.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      }
    };
    socket.onclose = function () {
      if (status) {
        status.hidden = true;
      }
      window.setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }

  connect();
})();
