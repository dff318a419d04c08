/* A hidden or direction-changing character a person sent reaches staff as a marker
 * such as [U+202E] (gateway/visible_text.py). havenShown(el, text) writes text into el
 * with each marker drawn as a small badge (.hidden-char), as the server's pages draw it,
 * so that it cannot pass for the person's own words. */
(function () {
  "use strict";
  var MARKER = /\[U\+[0-9A-F]{4,6}\]/g;
  window.havenShown = function (el, text) {
    var at = 0, m;
    el.textContent = "";
    MARKER.lastIndex = 0;
    while ((m = MARKER.exec(text)) !== null) {
      if (m.index > at) el.append(text.slice(at, m.index));
      var badge = document.createElement("span");
      badge.className = "hidden-char"; badge.textContent = m[0];
      el.append(badge);
      at = m.index + m[0].length;
    }
    if (at < text.length) el.append(text.slice(at));
  };
})();
