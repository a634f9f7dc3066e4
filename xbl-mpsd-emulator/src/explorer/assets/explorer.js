// The explorer's live updates: on each server-sent "change" event, re-fetch this page and swap its #live part
// in (the server renders every page; without JavaScript the pages are the same, only static).
(function () {
  "use strict";
  var source = document.body && document.body.getAttribute("data-events");
  var status = document.getElementById("live-status");
  if (!source || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var busy = false;
  var again = false;
  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }
  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetch(window.location.href, { cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (text) {
        var next = new DOMParser().parseFromString(text, "text/html").getElementById("live");
        var live = document.getElementById("live");
        if (next && live) {
          var focused = document.activeElement && live.contains(document.activeElement)
            ? document.activeElement.id : "";
          live.replaceWith(document.importNode(next, true));
          if (focused) {
            var again_focus = document.getElementById(focused);
            if (again_focus) {
              again_focus.focus();
            }
          }
        }
        say("Live · updated " + new Date().toLocaleTimeString());
      })
      .catch(function () { say("Live · update failed, retrying on the next change"); })
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }
  var events = new EventSource(source);
  events.addEventListener("open", function () { say("Live"); });
  events.addEventListener("change", refresh);
  events.addEventListener("error", function () { say("Live updates paused: reconnecting…"); });
}());
