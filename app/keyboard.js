// radreview keyboard shortcuts and image clicks. Injected in <head>; no outside requests.
// Keys click the (hidden) buttons the server wires to callbacks, so every key does exactly what the
// visible control does and goes through the same storage commit.
(function () {
  "use strict";
  if (window.__radreviewKeys) { return; }
  window.__radreviewKeys = true;

  // Reading-room default: dark theme unless the URL asks otherwise (?__theme=light).
  if (!/__theme=/.test(window.location.search)) {
    var dark = function () { document.body && document.body.classList.add("dark"); };
    if (document.body) { dark(); } else { document.addEventListener("DOMContentLoaded", dark); }
  }

  function click(id) {
    var el = document.getElementById(id);
    if (el && el.tagName !== "BUTTON") { el = el.querySelector("button") || el; }
    if (el) { el.click(); }
  }
  function field(id) {
    var root = document.getElementById(id);
    return root ? root.querySelector("textarea, input") : null;
  }
  function typing(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  function toggleHelp(force) {
    var help = document.getElementById("rr-help");
    if (!help) { return; }
    help.hidden = force === undefined ? !help.hidden : !force;
  }
  var keys = {
    j: function () { click("rr-key-next"); },
    k: function () { click("rr-key-prev"); },
    a: function () { click("rr-accept"); },
    r: function () { click("rr-reject"); },
    e: function () { var t = field("rr-text"); if (t) { t.focus(); t.select(); } },
    o: function () { click("rr-key-overlays"); },
    w: function () { click("rr-key-cycle"); },
    ArrowUp: function () { click("rr-key-up"); },
    ArrowDown: function () { click("rr-key-down"); },
    "?": function () { toggleHelp(); }
  };
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); click("rr-sign"); return; }
    if (ev.key === "Escape") { toggleHelp(false); return; }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) { return; }
    var fn = keys[ev.key];
    if (fn) { ev.preventDefault(); fn(); }
  }, true);

  // Keep the review view (case, finding, plane, slice) in the address so a reload reopens it: the
  // server writes the query into the hidden #rr-url field on every review/viewer update.
  setInterval(function () {
    var url = field("rr-url");
    var query = url && url.value ? "?" + url.value : "";
    if (query && window.location.search !== query) {
      window.history.replaceState(null, "", window.location.pathname + query);
    }
  }, 500);

  // Two clicks on the image draw a box: send each click's plot (x, y) to the server. Delegated on the
  // document so it survives Gradio re-rendering the plot. Plotly covers the page while the mouse is
  // down, so a click is a mousedown on the plot area followed by a mouseup within 5 px.
  var down = null;
  document.addEventListener("mousedown", function (ev) {
    var area = ev.target && ev.target.closest && ev.target.closest("#rr-plot .nsewdrag");
    down = area ? { area: area, x: ev.clientX, y: ev.clientY } : null;
  }, true);
  document.addEventListener("mouseup", function (ev) {
    var start = down;
    down = null;
    if (!start || Math.abs(ev.clientX - start.x) > 5 || Math.abs(ev.clientY - start.y) > 5) { return; }
    var plot = start.area.closest(".js-plotly-plot");
    var layout = plot && plot._fullLayout;
    if (!layout || !layout.xaxis || !layout.yaxis) { return; }
    var rect = start.area.getBoundingClientRect();
    var x = layout.xaxis.p2c(ev.clientX - rect.left);
    var y = layout.yaxis.p2c(ev.clientY - rect.top);
    var box = field("rr-click");
    if (!box || !isFinite(x) || !isFinite(y)) { return; }
    box.value = x.toFixed(2) + "," + y.toFixed(2) + "," + Date.now();
    box.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(function () { click("rr-click-btn"); }, 50);
  }, true);
})();
