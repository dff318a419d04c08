// Supervisor view: the "service now" part is fetched again whenever the queue or
// presence changes (a queue frame on /counsellor/ws), and every 15 seconds anyway.
// The fragment is rendered and escaped by the server's templates.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) return;
  var updated = document.getElementById("live-updated");
  var timer = null;

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = HavenClock(d);
    });
  }

  function refresh() {
    fetch("/counsellor/supervisor/live", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.redirected || !r.ok) throw new Error("signed out");
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        live.replaceChildren.apply(live, Array.from(doc.body.childNodes));
        localTimes(live);
        updated.textContent = "Updated " + HavenClock(new Date(), true) + ".";
      })
      .catch(function () { updated.textContent = "Could not update. Reload the page."; });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 500);
  }

  function connect() {
    HavenLive.connect("/counsellor/ws", { frame: function (frame) { if (frame.type === "queue") soon(); } });
  }

  localTimes(document);
  setInterval(refresh, 15000);
  connect();
})();
