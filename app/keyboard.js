// radreview keyboard shortcuts and image clicks. Injected in <head>; no outside requests.
// Keys click the (hidden) buttons the server wires to callbacks, so every key does exactly what the
// visible control does and goes through the same storage commit.
(function () {
  "use strict";
  if (window.__radreviewKeys) { return; }
  window.__radreviewKeys = true;

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

  // Two clicks on the image draw a box: send each click's plotly (x, y) to the server.
  function attach() {
    var plot = document.querySelector("#rr-plot .js-plotly-plot");
    if (!plot || plot.__rrClick || typeof plot.on !== "function") { return; }
    plot.__rrClick = true;
    plot.on("plotly_click", function (data) {
      if (!data || !data.points || !data.points.length) { return; }
      var p = data.points[0];
      var box = field("rr-click");
      if (!box) { return; }
      box.value = p.x + "," + p.y + "," + Date.now();
      box.dispatchEvent(new Event("input", { bubbles: true }));
      setTimeout(function () { click("rr-click-btn"); }, 50);
    });
  }
  setInterval(attach, 400);
})();
