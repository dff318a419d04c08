// The chat workspace: the counsellor's chats as tabs (an ARIA tablist, arrow keys),
// each with its own live connection, an unread count while it is out of view,
// typing both ways, sending with delivery marks, canned responses offered after
// "/", a draft that survives a reload, and live news of the person leaving or
// deleting the conversation. Everything shown is set with textContent, never as HTML.
(function () {
  "use strict";
  var workspace = document.querySelector(".workspace");
  if (!workspace) return;
  var erasePolicy = workspace.dataset.erasePolicy || "outcomes";
  var tabs = Array.prototype.slice.call(workspace.querySelectorAll(".chat-tab"));
  var queueMini = document.getElementById("queue-mini");
  var moreChats = document.getElementById("more-chats");
  var cannedData = document.getElementById("canned-data");
  var canned = cannedData ? JSON.parse(cannedData.textContent) : [];
  var chats = {};
  // How many canned responses the list offers at once: enough to choose, short enough to scan.
  var MAX_SUGGESTIONS = 8;

  var line = HavenTranscript.line;
  var localTimes = HavenTranscript.localTimes;

  // --- tabs -------------------------------------------------------------

  function selectedTab() {
    return tabs.filter(function (t) { return t.getAttribute("aria-selected") === "true"; })[0];
  }

  function updateTitle() {
    var unread = 0;
    Object.keys(chats).forEach(function (id) { unread += chats[id].unread; });
    var tab = selectedTab();
    document.title = (unread ? "(" + unread + ") " : "") + (tab ? "Chat " + tab.dataset.session + " \u00b7 " : "") + (document.documentElement.getAttribute("data-workspace-title") || "counsellor workspace");
  }

  function selectTab(tab, focus) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) tab.focus();
    var chat = chats[tab.dataset.session];
    if (chat) chat.shown();
    if (history.replaceState) history.replaceState(null, "", "/counsellor/sessions/" + tab.dataset.session);
    updateTitle();
  }

  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { selectTab(tab, false); });
    tab.addEventListener("keydown", function (e) {
      var next = null;
      if (e.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
      else if (e.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
      else if (e.key === "Home") next = tabs[0];
      else if (e.key === "End") next = tabs[tabs.length - 1];
      if (next) { e.preventDefault(); selectTab(next, true); }
    });
  });

  function showMoreChats(mine) {
    // A chat that became this counsellor's while the page was open (a transfer,
    // a claim in another window): a link, since its panel is not on the page.
    moreChats.textContent = "";
    mine.forEach(function (m) {
      if (chats[m.session_id]) return;
      var a = document.createElement("a");
      a.href = "/counsellor/sessions/" + m.session_id;
      a.textContent = "Open chat " + m.session_id + " (" + m.priority_label + ")";
      moreChats.append(a, " ");
    });
  }

  // --- canned responses after "/" (the combobox pattern) -----------------

  function cannedMenu(input, list, onInsert) {
    var matches = [];
    var active = -1;
    var token = null;

    function slashToken() {
      var pos = input.selectionStart;
      if (pos !== input.selectionEnd) return null;
      var m = /(^|\s)\/([a-z0-9-]*)$/i.exec(input.value.slice(0, pos));
      return m ? { start: pos - m[2].length - 1, end: pos, q: m[2].toLowerCase() } : null;
    }

    function find(q) {
      var byShortcut = [], byTitle = [];
      canned.forEach(function (c) {
        if (c.shortcut && c.shortcut.indexOf(q) === 0) byShortcut.push(c);
        else if (c.title.toLowerCase().indexOf(q) !== -1) byTitle.push(c);
      });
      return byShortcut.concat(byTitle).slice(0, MAX_SUGGESTIONS);
    }

    function render() {
      list.textContent = "";
      matches.forEach(function (c, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        var title = document.createElement("span"); title.className = "canned-title"; title.textContent = c.title;
        li.append(title);
        if (c.shortcut) {
          var s = document.createElement("span"); s.className = "canned-shortcut"; s.textContent = "/" + c.shortcut;
          li.append(" ", s);
        }
        var body = document.createElement("span"); body.className = "canned-body";
        body.textContent = c.body.length > 90 ? c.body.slice(0, 90) + "\u2026" : c.body;
        li.append(body);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); insert(i); });
        list.appendChild(li);
      });
      var open = matches.length > 0;
      list.hidden = !open;
      input.setAttribute("aria-expanded", open ? "true" : "false");
      if (open && active >= 0) {
        input.setAttribute("aria-activedescendant", list.id + "-" + active);
        document.getElementById(list.id + "-" + active).scrollIntoView({ block: "nearest" });
      } else input.removeAttribute("aria-activedescendant");
    }

    function close() { matches = []; active = -1; token = null; render(); }

    function insert(i) {
      var c = matches[i];
      if (!c || !token) return;
      input.value = input.value.slice(0, token.start) + c.body + input.value.slice(token.end);
      var caret = token.start + c.body.length;
      close();
      input.focus();
      input.setSelectionRange(caret, caret);
      onInsert();
    }

    function update() {
      token = slashToken();
      if (!token) { if (matches.length) close(); return; }
      matches = find(token.q);
      active = -1;  // nothing is chosen until the counsellor chooses it
      render();
    }

    input.addEventListener("input", update);
    input.addEventListener("click", update);
    input.addEventListener("blur", function () { if (matches.length) close(); });
    return {
      open: function () { return matches.length > 0; },
      // Returns true when the key was the menu's.
      key: function (e) {
        if (!matches.length) return false;
        if (e.key === "ArrowDown") { active = (active + 1) % matches.length; render(); return true; }
        if (e.key === "ArrowUp") { active = active <= 0 ? matches.length - 1 : active - 1; render(); return true; }
        if (e.key === "Escape") { close(); return true; }
        if (e.key === "Enter" || e.key === "Tab") {
          if (active >= 0) { insert(active); return true; }
          if (e.key === "Enter") { close(); return true; }  // never send "/word" by accident
          close();
          return false;
        }
        return false;
      }
    };
  }

  // --- one chat -----------------------------------------------------------

  function Chat(panel, tab) {
    var sessionId = panel.dataset.session;
    var log = panel.querySelector(".transcript");
    var form = panel.querySelector("[data-role=compose]");
    var input = form ? form.querySelector("textarea") : null;
    var list = panel.querySelector(".canned-list");
    var typingLine = panel.querySelector("[data-role=typing]");
    var stateLine = panel.querySelector("[data-role=chat-state]");
    var personLine = panel.querySelector("[data-role=person-state]");
    var wrapNeeded = panel.querySelector("[data-role=wrap-needed]");
    var wrapWhy = panel.querySelector("[data-role=wrap-why]");
    var notesCard = panel.querySelector("[data-role=notes]");
    var unreadBadge = tab.querySelector("[data-role=unread]");
    var tabState = tab.querySelector("[data-role=tab-state]");
    var draftKey = "haven-draft-" + sessionId;
    var live = null;
    var pending = {};
    var typingSent = false;
    var typingTimer = null;
    var ended = panel.dataset.live !== "true";
    var self = { unread: 0 };

    function inView() { return !panel.hidden && !document.hidden; }

    function showUnread() {
      unreadBadge.textContent = "";
      unreadBadge.hidden = self.unread === 0;
      if (self.unread) {
        var n = document.createElement("span"); n.setAttribute("aria-hidden", "true"); n.textContent = String(self.unread);
        var words = document.createElement("span"); words.className = "visually-hidden";
        words.textContent = self.unread + (self.unread === 1 ? " unread message" : " unread messages");
        unreadBadge.append(n, words);
      }
      updateTitle();
    }

    self.shown = function () {
      if (self.unread) { self.unread = 0; showUnread(); }
      log.scrollTop = log.scrollHeight;
    };

    function lastSeq() { return Number(log.dataset.after || 0); }

    function add(frame) {
      if (log.querySelector('[data-seq="' + frame.seq + '"]')) return;
      var mine = frame.client_id && pending[frame.client_id];
      if (mine) { mine.replaceWith(line(frame, "Delivered")); delete pending[frame.client_id]; }
      else {
        log.appendChild(line(frame));
        if (!inView() && (frame.sender === "user" || frame.sender === "system")) { self.unread += 1; showUnread(); }
      }
      if (frame.seq > lastSeq()) log.dataset.after = frame.seq;
      log.scrollTop = log.scrollHeight;
    }

    function stopChat(text, shortState) {
      ended = true;
      stateLine.textContent = text;
      typingLine.textContent = "";
      tabState.textContent = shortState;
      personLine.hidden = true;
      if (form) { form.remove(); form = null; }
      panel.querySelectorAll("[data-role=live-tools]").forEach(function (s) { s.hidden = true; });
    }

    function needsWrapUp(text) {
      if (panel.dataset.wrapped === "true") return;
      wrapWhy.textContent = text;
      wrapNeeded.hidden = false;
    }

    function personLeft() {
      stopChat("They have left. The person ended the chat.", "left");
      needsWrapUp("The person has left the chat. Record how it went.");
    }

    // What the service keeps of a deleted chat (HAVEN_ERASE_STAFF_RECORDS).
    var AFTER_ERASE = {
      outcomes: "Your private notes on it are deleted too. Record the outcomes and the risk you assessed in the wrap-up; it has no notes box, because notes may quote the person.",
      keep: "Staff notes are kept as the service's safeguarding record. Write the wrap-up as usual.",
      all: "Nothing of it is kept, staff notes included, so no wrap-up is needed."
    };

    function erased() {
      stopChat("The person deleted this conversation.", "deleted");
      log.textContent = "";
      var li = document.createElement("li"); li.className = "erased-notice";
      var head = document.createElement("p"); head.className = "erased-head";
      head.textContent = "The person deleted this conversation.";
      var gone = document.createElement("p");
      gone.textContent = "Its messages are gone from the service and from this screen.";
      var kept = document.createElement("p");
      kept.textContent = AFTER_ERASE[erasePolicy] || AFTER_ERASE.outcomes;
      li.append(head, gone, kept);
      log.append(li);
      if (erasePolicy !== "keep") notesCard.hidden = true;
      if (erasePolicy !== "all") needsWrapUp("Record the outcomes and the risk you assessed.");
    }

    function send(obj) { if (live) live.send(obj); }

    function onFrame(f) {
      if (f.type === "message") add(f);
      else if (f.type === "ack") {
        var li = pending[f.client_id];
        if (li) li.querySelector(".mark").textContent = "Delivered";
      } else if (f.type === "typing") typingLine.textContent = f.on ? "The person is typing\u2026" : "";
      else if (f.type === "person") {
        if (ended) return;
        personLine.hidden = !f.gone;
        personLine.textContent = f.gone
          ? "The person's connection seems to have dropped (last heard from " + Math.round(f.seen_s / 60) + " min ago). They may come back; if they don't, end the chat."
          : "";
        tabState.textContent = f.gone ? "away" : "";
      } else if (f.type === "state") {
        if (f.state === "erased") erased();
        else if (ended) return;
        else if (f.state === "closed") personLeft();
        else if (f.state === "live" && !f.mine) stopChat("This chat is now with " + (f.counsellor || "another counsellor") + ".", "passed on");
        else if (f.state === "queued") stopChat("This chat went back to the queue.", "released");
        else if (f.state === "bot") stopChat("This chat is back with the bot.", "with the bot");
      } else if (f.type === "whisper") {
        log.appendChild(HavenTranscript.whisper(f));
        log.scrollTop = log.scrollHeight;
        if (!inView()) { self.unread += 1; showUnread(); }
      } else if (f.type === "queue") {
        queueMini.textContent = "\u00b7 " + f.rows.length + " waiting";
        showMoreChats(f.mine);
      } else if (f.type === "error") {
        var failed = f.client_id && pending[f.client_id];
        if (failed) { failed.querySelector(".mark").textContent = "Not sent: " + f.message; delete pending[f.client_id]; }
        else stateLine.textContent = f.message;
      }
    }

    function connect() {
      live = HavenLive.connect(function () {
        return "/counsellor/ws?session=" + sessionId + "&after=" + lastSeq();
      }, {
        open: function () {
          if (!ended) stateLine.textContent = "Live: you are chatting with this person.";
          Object.keys(pending).forEach(function (id) { send({ type: "say", client_id: id, text: pending[id].dataset.text }); });
        },
        frame: onFrame,
        refused: function () { if (!ended) stopChat("You are no longer connected to this chat. Reload the page to see why.", "disconnected"); },
        lost: function () { if (!ended) stateLine.textContent = "Connection lost. Reconnecting\u2026 Your chat is kept for you for a short while."; }
      });
    }

    function typing(on) {
      if (typingSent === on) return;
      typingSent = on;
      send({ type: "typing", on: on });
    }

    function edited() {
      sessionStorage.setItem(draftKey, input.value);
      typing(true);
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typing(false); }, 3000);
    }

    if (form) {
      var menu = list ? cannedMenu(input, list, edited) : null;
      input.value = sessionStorage.getItem(draftKey) || "";
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var text = input.value.trim();
        if (!text) return;
        var id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
        var li = line({ sender: "counsellor", text: text, at: new Date().toISOString(), name: "You" }, "Sending\u2026");
        li.classList.add("pending");
        li.dataset.text = text;
        pending[id] = li;
        log.appendChild(li);
        log.scrollTop = log.scrollHeight;
        send({ type: "say", client_id: id, text: text });
        input.value = "";
        sessionStorage.removeItem(draftKey);
        clearTimeout(typingTimer);
        typing(false);
        input.focus();
      });
      input.addEventListener("keydown", function (e) {
        if (menu && menu.key(e)) { e.preventDefault(); return; }
        if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
      });
      input.addEventListener("input", edited);
    }
    localTimes(panel);
    log.scrollTop = log.scrollHeight;
    if (!ended) connect();
    return self;
  }

  tabs.forEach(function (tab) {
    var panel = document.getElementById(tab.getAttribute("aria-controls"));
    chats[tab.dataset.session] = Chat(panel, tab);
  });
  document.addEventListener("visibilitychange", function () {
    var tab = selectedTab();
    if (!document.hidden && tab) chats[tab.dataset.session].shown();
  });
  updateTitle();
})();
