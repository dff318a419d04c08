// Supervisor view: the live board (who is waiting, the chats in progress, who is
// on duty) is pushed over /counsellor/ws?board=1 whenever the queue or presence
// changes and at every heartbeat. The server reads it once per change for every
// supervisor and renders (and escapes) it with its template; nothing is polled.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) return;
  var updated = document.getElementById("live-updated");
  var news = document.getElementById("live-news");
  var told = summary();

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = HavenClock(d);
    });
  }

  // What a screen reader hears: only a change in who waits or waits long for a reply,
  // not every redraw of the board.
  function summary() {
    var waiting = live.querySelector("#queue-length");
    var overdue = live.querySelectorAll("tr.overdue").length;
    return (waiting ? waiting.textContent.trim() : "0") + " waiting." +
      (overdue ? " " + overdue + (overdue === 1 ? " person has" : " people have") + " waited long for a reply." : "");
  }

  function show(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    // Keep focus on a Watch link that is redrawn under the keyboard.
    var focused = document.activeElement && live.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
    live.replaceChildren.apply(live, Array.from(doc.body.childNodes));
    localTimes(live);
    withToken(live);
    if (focused) {
      var again = live.querySelector('a[href="' + focused + '"]');
      if (again) again.focus();
    }
    updated.textContent = "Updated " + HavenClock(new Date(), true) + ".";
    var now = summary();
    if (now !== told) { news.textContent = now; told = now; }
  }

  // The board is rendered once for every supervisor: its forms ("Clear flood") get
  // this page's own CSRF token (the sign-out form's) here.
  function withToken(root) {
    var own = document.querySelector('header input[name="csrf_token"]');
    if (!own) return;
    root.querySelectorAll('input[name="csrf_token"]').forEach(function (input) {
      if (!input.value) input.value = own.value;
    });
  }

  localTimes(document);
  withToken(live);
  HavenLive.connect("/counsellor/ws?board=1", {
    frame: function (frame) { if (frame.type === "board") show(frame.html); },
    lost: function () { updated.textContent = "Connection lost. Reconnecting\u2026"; }
  });
})();
