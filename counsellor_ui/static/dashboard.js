// Live queue on the counsellor dashboard: rows arrive over /counsellor/ws.
// Everything shown is set with textContent, never as HTML.
(function () {
  "use strict";
  var body = document.getElementById("queue-body");
  if (!body) return;
  var table = document.getElementById("queue");
  var empty = document.getElementById("queue-empty");
  var count = document.getElementById("queue-count");
  var available = document.getElementById("available-count");
  var template = document.getElementById("row-template");
  var baseTitle = document.title;
  var known = null;
  var delay = 1000;

  function waiting(since) {
    var s = Math.max(0, Math.floor((Date.now() - new Date(since).getTime()) / 1000));
    if (s < 60) return "waiting under 1 min";
    var m = Math.floor(s / 60);
    if (m < 60) return "waiting " + m + " min";
    return "waiting " + Math.floor(m / 60) + " h " + (m % 60) + " min";
  }

  function render(rows) {
    var fresh = [];
    body.textContent = "";
    rows.forEach(function (row) {
      var tr = template.content.firstElementChild.cloneNode(true);
      tr.dataset.session = row.session_id;
      tr.className = "p-" + row.priority;
      tr.querySelector(".pos").textContent = row.position;
      var prio = tr.querySelector(".prio");
      prio.textContent = row.priority_label;
      prio.classList.add("p-" + row.priority);
      tr.querySelector(".front").hidden = !row.front;
      tr.querySelector(".why").textContent = row.reason ? row.reason + (row.matched ? ": \u201c" + row.matched + "\u201d" : "") : "";
      var w = tr.querySelector(".waiting");
      w.dataset.since = row.queued_at;
      w.textContent = waiting(row.queued_at);
      tr.querySelector(".mood").textContent = row.mood || "\u2013";
      tr.querySelector(".locale").textContent = row.locale;
      tr.querySelector(".preview").textContent = row.preview;
      var form = tr.querySelector("form.claim");
      form.action = "/counsellor/sessions/" + row.session_id + "/claim";
      form.querySelector("button").setAttribute("aria-label", "Claim chat " + row.session_id);
      if (known && !known.has(row.session_id)) { tr.classList.add("new"); fresh.push(row); }
      body.appendChild(tr);
    });
    known = new Set(rows.map(function (r) { return r.session_id; }));
    table.hidden = rows.length === 0;
    empty.hidden = rows.length !== 0;
    count.textContent = "(" + rows.length + ")";
    document.title = (rows.length ? "(" + rows.length + ") " : "") + baseTitle;
    if (fresh.length) notify(fresh);
  }

  function notify(rows) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    var crisis = rows.some(function (r) { return r.priority === "crisis"; });
    new Notification(crisis ? "Someone in crisis is waiting" : "Someone new is waiting", {
      body: "Open the Haven queue to claim the chat.", tag: "haven-queue"
    });
  }

  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/counsellor/ws");
    ws.onopen = function () { delay = 1000; };
    ws.onmessage = function (e) {
      var frame = JSON.parse(e.data);
      if (frame.type === "queue") {
        render(frame.rows);
        available.textContent = frame.available + (frame.available === 1 ? " counsellor" : " counsellors") + " available";
      }
    };
    ws.onclose = function (e) {
      if (e.code === 1008) { location.href = "/counsellor/sign-in"; return; }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  document.addEventListener("click", function () {
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
  }, { once: true });
  setInterval(function () {
    body.querySelectorAll(".waiting").forEach(function (el) { el.textContent = waiting(el.dataset.since); });
  }, 15000);
  connect();
})();
