/* Clock times on the service's clock: its time zone and locale (24-hour "14:05" for
 * en-GB), read from <html data-timezone data-time-locale>, the same for every reader
 * (counsellor_ui/timefmt.py writes them so before this runs). */
(function () {
  "use strict";
  var root = document.documentElement;
  var zone = root.getAttribute("data-timezone") || undefined;
  var locale = root.getAttribute("data-time-locale") || "en-GB";
  var formats = {};

  function format(seconds) {
    var key = seconds ? "s" : "m";
    if (!formats[key]) {
      var options = { hour: "2-digit", minute: "2-digit", timeZone: zone };
      if (seconds) options.second = "2-digit";
      try { formats[key] = new Intl.DateTimeFormat([locale, "en-GB"], options); }
      catch (e) { delete options.timeZone; formats[key] = new Intl.DateTimeFormat([locale, "en-GB"], options); }
    }
    return formats[key];
  }

  // HavenClock(date) -> "14:05"; HavenClock(date, true) -> "14:05:09".
  window.HavenClock = function (date, seconds) {
    var d = date instanceof Date ? date : new Date(date);
    return isNaN(d) ? "" : format(!!seconds).format(d);
  };
})();
