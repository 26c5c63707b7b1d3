// A live page: fetches its dashboard's (or list's) JSON every data-interval seconds with the
// session cookie, and updates figures, table cells and charts in place (no reload); deadline
// cells count down every second and turn red once passed. Values are formatted exactly as the
// server formats them (tongxin_agencies.entrypoints.web_render.fmt).
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) return;

  var offset = 0; // the server's clock minus ours (ms)
  var serverNow = Date.parse(live.getAttribute("data-now"));
  if (!isNaN(serverNow)) offset = serverNow - Date.now();
  function now() { return Date.now() + offset; }

  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
  function both(zh, en) {
    return '<span class="zh" lang="zh-CN">' + esc(zh) + '</span><span class="en" lang="en">' + esc(en) + "</span>";
  }
  function share(v) { return String(Math.floor(v * 1000 + 0.5) / 10) + "%"; }
  var INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
  var CHINA = new Intl.DateTimeFormat("sv-SE", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23"
  });
  function instant(text) { return CHINA.format(new Date(text)).replace(",", ""); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds) {
    var s = Math.floor(Math.abs(seconds));
    return pad(Math.floor(s / 3600)) + ":" + pad(Math.floor((s % 3600) / 60)) + ":" + pad(s % 60);
  }
  function countdownInner(due) {
    var left = (due - now()) / 1000;
    return { passed: left <= 0, html: (left <= 0 ? both("已超时 ", "overdue ") : "") + clock(left) };
  }
  function countdown(iso) {
    var c = countdownInner(Date.parse(iso));
    return '<time class="deadline' + (c.passed ? " passed" : "") + '" datetime="' + esc(iso) + '">' + c.html + "</time>";
  }
  function format(v, unit) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "boolean" || unit === "flag") return v ? both("是", "yes") : both("否", "no");
    if (unit === "deadline" && typeof v === "string" && INSTANT.test(v)) return countdown(v);
    if (typeof v === "number") return unit === "share" ? share(v) : String(v);
    var t = String(v);
    if (unit === "date") return esc(t.slice(0, 10));
    if (INSTANT.test(t)) return esc(instant(t));
    return esc(t);
  }
  function meetsClass(m) { return m === true ? "meets" : m === false ? "misses" : ""; }
  function pageLink(link) {
    if (!link || link.charAt(0) !== "/" || link.charAt(1) === "/") return null;
    return link.indexOf("/lists/") === 0 ? "/pages" + link : link;
  }
  function linked(inner, link) {
    var href = pageLink(link);
    return href ? '<a href="' + esc(href) + '">' + inner + "</a>" : inner;
  }
  function find(attr, key) { return live.querySelector("[" + attr + '="' + CSS.escape(key) + '"]'); }

  // --- figures, tables, charts ---------------------------------------------------------------
  function setFigure(el, f) {
    var json = JSON.stringify(f);
    if (el._json === json) return;
    el._json = json;
    el.setAttribute("data-value", JSON.stringify(f.value === undefined ? null : f.value));
    el.classList.remove("meets", "misses");
    var m = meetsClass(f.meets);
    if (m) el.classList.add(m);
    el.querySelector(".figure-value").innerHTML = linked(format(f.value, f.unit), f.link);
    var target = f.target === null || f.target === undefined ? "" : both("目标 ", "target ") + format(f.target, f.unit);
    el.querySelector(".figure-target").innerHTML = target;
  }
  function rowsHTML(columns, rows) {
    if (!rows.length) {
      return '<tr class="empty"><td colspan="' + (columns.length || 1) + '">' + both("暂无记录", "Nothing here") + "</td></tr>";
    }
    return rows.map(function (row) {
      return "<tr>" + row.map(function (c, i) {
        var unit = c.unit || (i < columns.length ? columns[i].unit : "text");
        return '<td class="' + meetsClass(c.meets) + '" data-value="' + esc(JSON.stringify(c.value)) + '">' +
          linked(format(c.value, unit), c.link) + "</td>";
      }).join("") + "</tr>";
    }).join("");
  }
  function setTable(el, t) {
    var json = JSON.stringify(t.rows);
    if (el._json === undefined) el._json = null; // the server's rows: replaced on the first answer
    if (el._json === json) return;
    el._json = json;
    el.querySelector("tbody").innerHTML = rowsHTML(t.columns, t.rows);
    el.setAttribute("data-rows", String(t.rows.length));
  }
  var charts = {};
  function chartOption(s) {
    var pct = s.unit === "share";
    var names = Object.keys(s.lines).sort();
    var series = names.map(function (name) {
      return {
        name: name, type: "line", connectNulls: false, showSymbol: s.months.length < 13,
        data: s.lines[name].map(function (v) { return v === null ? null : pct ? Math.round(v * 1000) / 10 : v; })
      };
    });
    if (s.target !== null && s.target !== undefined && series.length) {
      series[0].markLine = {
        symbol: "none", silent: true, label: { formatter: pct ? "{c}%" : "{c}" },
        lineStyle: { color: "#c0392b", type: "dashed" }, data: [{ yAxis: pct ? s.target * 100 : s.target }]
      };
    }
    return {
      animation: false, tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 }, grid: { left: 48, right: 24, top: 36, bottom: 28 },
      xAxis: { type: "category", data: s.months },
      yAxis: { type: "value", max: pct ? 100 : null, axisLabel: { formatter: pct ? "{value}%" : "{value}" } },
      series: series
    };
  }
  function setChart(key, s) {
    var c = charts[key];
    if (!c) return;
    var json = JSON.stringify(s);
    if (c._json === json) return;
    c._json = json;
    c.setOption(chartOption(s), { notMerge: true });
  }
  function initCharts() {
    var els = live.querySelectorAll(".chart[data-chart]");
    if (!els.length) return;
    if (!window.echarts) {
      els.forEach(function (el) { el.textContent = "ECharts: /static/vendor/echarts.min.js is missing (bash infra/web/fetch.sh)"; });
      return;
    }
    els.forEach(function (el) {
      var key = el.getAttribute("data-chart");
      var s = JSON.parse(el.getAttribute("data-series"));
      var c = window.echarts.init(el);
      c._json = JSON.stringify(s);
      c.setOption(chartOption(s));
      charts[key] = c;
      el.setAttribute("data-ready", "1");
    });
    window.addEventListener("resize", function () {
      Object.keys(charts).forEach(function (k) { charts[k].resize(); });
    });
  }

  function apply(data) {
    if (live.getAttribute("data-kind") === "list") {
      var t = find("data-table", "list");
      if (t) setTable(t, data);
      var count = live.querySelector(".count");
      if (count) { count.textContent = String(data.rows.length); count.setAttribute("data-count", String(data.rows.length)); }
    } else {
      (data.panels || []).forEach(function (p) {
        (p.figures || []).forEach(function (f) {
          var el = find("data-figure", p.key + "/" + f.key);
          if (el) setFigure(el, f);
        });
        (p.tables || []).forEach(function (t) {
          var el = find("data-table", p.key + "/" + t.key);
          if (el) setTable(el, t);
        });
        (p.charts || []).forEach(function (s) { setChart(p.key + "/" + s.key, s); });
      });
    }
    var asOf = live.querySelector(".as-of");
    if (asOf && data.as_of) asOf.textContent = data.as_of;
  }

  // --- the loop ------------------------------------------------------------------------------
  var STATES = {
    live: ["实时", "live"], offline: ["连接中断，重试中", "offline, retrying"],
    error: ["刷新失败", "refresh failed"], "signed-out": ["会话已过期，请重新登录", "session expired: sign in again"]
  };
  function setState(state) {
    var el = live.querySelector(".live-state");
    if (!el || el.getAttribute("data-state") === state) return;
    el.setAttribute("data-state", state);
    el.innerHTML = both(STATES[state][0], STATES[state][1]);
  }
  var interval = Math.max(0.2, parseFloat(live.getAttribute("data-interval")) || 2) * 1000;
  var source = live.getAttribute("data-source");
  var updates = 0;
  function refresh() {
    fetch(source, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401) { setState("signed-out"); return null; }
        if (!r.ok) { setState("error"); return null; }
        return r.json();
      })
      .then(function (data) {
        if (!data) return;
        apply(data);
        updates += 1;
        live.setAttribute("data-updates", String(updates));
        var u = live.querySelector(".updated");
        if (u) u.textContent = instant(new Date(now()).toISOString()).slice(11);
        setState("live");
      })
      .catch(function () { setState("offline"); })
      .then(function () { window.setTimeout(refresh, interval); });
  }
  function tick() {
    live.querySelectorAll("time.deadline[datetime]").forEach(function (el) {
      var c = countdownInner(Date.parse(el.getAttribute("datetime")));
      el.innerHTML = c.html;
      el.classList.toggle("passed", c.passed);
    });
  }

  initCharts();
  tick();
  window.setInterval(tick, 1000);
  window.setTimeout(refresh, interval);
})();
