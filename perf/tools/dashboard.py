"""The perf lab's dashboard (docs/perf.md, "Reading the dashboard"): one static HTML page drawn
from the history (perflab.py's JSON lines), with inline SVG and no network.

  - a plot per helix benchmark over the runs: the median with its 95 % confidence interval,
    the peers of the same scenario as dashed reference lines, regressions against the previous
    run marked with a red triangle (improvements with a green one);
  - for the newest run that measured the channel, its latency and throughput against the number
    of producers, one line per implementation.

A script at the end of the page checks that every plot has drawn marks with a non-empty box and
records the count on <body> (data-plots, data-plots-rendered): the headless Chromium test reads it.
"""

import html
import math
import re

WIDTH, HEIGHT = 440, 230
LEFT, RIGHT, TOP, BOTTOM = 62, 12, 14, 52
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]
SUBJECT_COLOR = "#d62728"

CHANNEL_RE = re.compile(r"^channel_latency/([^/]+)/producers:(\d+)/capacity:1024/msg:8/"
                        r"consumer:(spin|block)$")


def esc(text):
    return html.escape(str(text), quote=True)


def fmt(v):
    if v is None or not math.isfinite(v):
        return "-"
    for limit, div, unit in ((1e9, 1e9, " s"), (1e6, 1e6, " ms"), (1e3, 1e3, " us")):
        if v >= limit:
            return "%.3g%s" % (v / div, unit)
    return "%.3g ns" % v


def nice_ticks(lo, hi, count=5):
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


class Axis:
    """A y axis: linear, or logarithmic when the values span more than 30x."""

    def __init__(self, values, force_log=False):
        vals = [v for v in values if v is not None and math.isfinite(v) and v > 0]
        if not vals:
            vals = [1.0]
        lo, hi = min(vals), max(vals)
        self.log = force_log or hi / lo > 30
        if self.log:
            self.lo = 10 ** math.floor(math.log10(lo))
            self.hi = 10 ** math.ceil(math.log10(hi))
            if self.hi <= self.lo:
                self.hi = self.lo * 10
        else:
            pad = (hi - lo) * 0.15 or hi * 0.1 or 1
            self.lo = max(0.0, lo - pad)
            self.hi = hi + pad

    def y(self, v):
        h = HEIGHT - TOP - BOTTOM
        if self.log:
            f = (math.log10(max(v, self.lo)) - math.log10(self.lo)) / (
                math.log10(self.hi) - math.log10(self.lo))
        else:
            f = (v - self.lo) / (self.hi - self.lo)
        return TOP + h * (1 - min(max(f, 0.0), 1.0))

    def ticks(self):
        if self.log:
            out, t = [], self.lo
            while t <= self.hi * 1.0001:
                out.append(t)
                t *= 10
            return out
        return nice_ticks(self.lo, self.hi)


def x_of(i, n):
    pad = 26  # room for the first and last labels
    w = WIDTH - LEFT - RIGHT - 2 * pad
    return LEFT + pad + (w / 2 if n <= 1 else w * i / (n - 1))


def svg_frame(plot_id, axis, xlabels, ylabel):
    out = ['<svg class="plot" id="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d">' % (esc(plot_id), WIDTH, HEIGHT, WIDTH, HEIGHT)]
    out.append('<rect x="%d" y="%d" width="%d" height="%d" class="area"/>' % (
        LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM))
    for t in axis.ticks():
        y = axis.y(t)
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>' % (
            LEFT, WIDTH - RIGHT, y, y))
        out.append('<text x="%d" y="%.1f" class="tick" text-anchor="end">%s</text>' % (
            LEFT - 4, y + 4, esc(fmt(t))))
    n = len(xlabels)
    every = max(1, math.ceil(n / 6))
    for i, label in enumerate(xlabels):
        if (n - 1 - i) % every:
            continue
        x = x_of(i, n)
        for k, part in enumerate(label.split("\n")):
            out.append('<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>' % (
                x, HEIGHT - BOTTOM + 14 + 11 * k, esc(part)))
    out.append('<text class="axis" transform="translate(12,%d) rotate(-90)" '
               'text-anchor="middle">%s%s</text>' % (
                   (HEIGHT - BOTTOM + TOP) // 2, esc(ylabel), " (log)" if axis.log else ""))
    return out


def polyline(points, cls, color, dashed=False):
    if not points:
        return ""
    d = " ".join(("M" if i == 0 else "L") + "%.1f,%.1f" % p for i, p in enumerate(points))
    return '<path class="%s" d="%s" stroke="%s" fill="none" stroke-width="%s"%s/>' % (
        cls, d, color, "1.3" if dashed else "2", ' stroke-dasharray="5,3"' if dashed else "")


def history_plot(plot_id, name, runs, subject, peers, colors):
    """@runs: run ids (x axis); @subject: {run: line}; @peers: {label: {run: line}}; @colors:
    {peer label: colour}, the same in every plot."""
    idx = {r: i for i, r in enumerate(runs)}
    values = []
    for line in subject.values():
        m = line["metrics"].get("real_time", {})
        values += [m.get("median"), m.get("ci_low"), m.get("ci_high")]
    for series in peers.values():
        values += [l["metrics"].get("real_time", {}).get("median") for l in series.values()]
    axis = Axis(values)
    labels = [short_run(r) for r in runs]
    out = svg_frame(plot_id, axis, labels, "ns/op")
    out.append('<g class="series">')
    legend = []
    for label, series in sorted(peers.items()):
        color = colors[label]
        pts = []
        for run, line in sorted(series.items(), key=lambda rl: idx[rl[0]]):
            v = line["metrics"].get("real_time", {}).get("median")
            if v is not None:
                pts.append((x_of(idx[run], len(runs)), axis.y(v)))
        if pts:
            out.append(polyline(pts, "peer", color, dashed=True))
            if len(pts) == 1:
                out.append('<path class="peer" d="M%.1f,%.1f h-10 m20,0 h-10" stroke="%s" '
                           'stroke-dasharray="3,2"/>' % (pts[0][0], pts[0][1], color))
            legend.append((label, color, True))
    pts = []
    marks = []
    for run, line in sorted(subject.items(), key=lambda rl: idx[rl[0]]):
        m = line["metrics"].get("real_time", {})
        v = m.get("median")
        if v is None:
            continue
        x, y = x_of(idx[run], len(runs)), axis.y(v)
        pts.append((x, y))
        lo, hi = m.get("ci_low"), m.get("ci_high")
        if lo is not None and hi is not None:
            marks.append('<path class="ci" d="M%.1f,%.1f V%.1f M%.1f,%.1f h6 M%.1f,%.1f h6" '
                         'stroke="%s"/>' % (x, axis.y(lo), axis.y(hi), x - 3, axis.y(lo), x - 3,
                                            axis.y(hi), SUBJECT_COLOR))
        verdict = m.get("vs_previous", {}).get("verdict", "")
        title = "%s\n%s: median %s, 95%% CI [%s, %s] (%s%% coverage, n=%s)%s" % (
            name, run, fmt(v), fmt(lo), fmt(hi), round(100 * (m.get("ci_level") or 0)),
            m.get("n"), vs_text(m))
        if verdict in ("regression", "improvement"):
            up = verdict == "regression"
            marks.append('<path class="%s" d="M%.1f,%.1f l6,%d h-12 z" fill="%s"><title>%s'
                         '</title></path>' % (verdict, x, y + (-14 if up else 14), 10 if up else -10,
                                              "#d62728" if up else "#2ca02c", esc(title)))
        marks.append('<circle class="point" cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s'
                     '</title></circle>' % (x, y, SUBJECT_COLOR, esc(title)))
    if len(pts) > 1:
        out.append(polyline(pts, "subject", SUBJECT_COLOR))
    out += marks
    out.append("</g>")
    legend.insert(0, ("helix", SUBJECT_COLOR, False))
    out.append(svg_legend(legend))
    out.append("</svg>")
    return "\n".join(out)


def vs_text(m):
    v = m.get("vs_previous")
    if not v:
        return ""
    change = v.get("change")
    return "\nvs %s: %s, %s, p=%.3g" % (
        v.get("run"), v.get("verdict"),
        "%+.1f%%" % (100 * change) if change is not None else "?", v.get("p") or 1)


def svg_legend(items):
    out = ['<g class="legend">']
    x, y = LEFT + 4, TOP + 10
    for label, color, dashed in items[:9]:
        out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                   '<text x="%d" y="%d" class="legend-text">%s</text>' % (
                       x, x + 14, y - 3, y - 3, color, ' stroke-dasharray="4,2"' if dashed else "",
                       x + 17, y, esc(label)))
        x += 24 + 6 * len(label)
        if x > WIDTH - 90:
            x, y = LEFT + 4, y + 11
    out.append("</g>")
    return "".join(out)


def producers_plot(plot_id, lines, mode, metric, ylabel, colors):
    """Channel latency or throughput against producers, one line per implementation."""
    series = {}
    for line in lines:
        m = CHANNEL_RE.match(line["name"])
        if not m or m.group(3) != mode:
            continue
        v = line["metrics"].get(metric, {}).get("median")
        if v is not None:
            series.setdefault(m.group(1), {})[int(m.group(2))] = v
    if not series:
        return None
    producers = sorted({p for s in series.values() for p in s})
    axis = Axis([v for s in series.values() for v in s.values()], force_log=True)
    out = svg_frame(plot_id, axis, ["%d" % p for p in producers], ylabel)
    out.append('<text class="tick" x="%d" y="%d" text-anchor="middle">producers</text>' % (
        (LEFT + WIDTH - RIGHT) // 2, HEIGHT - 6))
    out.append('<g class="series">')
    legend = []
    names = sorted(series, key=lambda n: (n != "helix", n))
    for impl in names:
        color = SUBJECT_COLOR if impl == "helix" else colors.get(impl, PALETTE[-1])
        pts = [(x_of(producers.index(p), len(producers)), axis.y(v))
               for p, v in sorted(series[impl].items())]
        out.append(polyline(pts, "subject" if impl == "helix" else "peer", color,
                            dashed=impl != "helix"))
        for (x, y), (p, v) in zip(pts, sorted(series[impl].items())):
            out.append('<circle class="point" cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s, %d '
                       'producers: %s</title></circle>' % (x, y, color, esc(impl), p, fmt(v)))
        legend.append((impl, color, impl != "helix"))
    out.append("</g>")
    out.append(svg_legend(legend))
    out.append("</svg>")
    return "\n".join(out)


def short_run(run):
    """An x-axis label: 20261124-123456-<commit>[-dirty] -> "<commit:7>[+]" over "11-24 12:34"
    ("+": uncommitted changes)."""
    m = re.match(r"^\d{4}(\d{2})(\d{2})-(\d{2})(\d{2})\d*-([0-9A-Za-z_.]+?)(-dirty)?$", run)
    if not m:
        return run[:12]
    return "%s%s\n%s-%s %s:%s" % (m.group(5)[:7], "+" if m.group(6) else "", m.group(1),
                                   m.group(2), m.group(3), m.group(4))


def slug(text):
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.grid-plots { display: flex; flex-wrap: wrap; gap: 10px; }
figure { margin: 0; border: 1px solid #ddd; padding: 4px; }
figcaption { font: 12px monospace; max-width: 440px; word-break: break-all; }
svg .area { fill: #fafafa; stroke: #ccc; } svg .grid { stroke: #e6e6e6; }
svg .tick { font: 10px sans-serif; fill: #555; } svg .axis { font: 11px sans-serif; fill: #333; }
svg .legend-text { font: 10px sans-serif; fill: #333; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee;
 text-align: left; font-size: 13px; }
.regression { color: #d62728; } .improvement { color: #2ca02c; }
"""

CHECK_SCRIPT = """
window.addEventListener('load', function () {
  var plots = document.querySelectorAll('svg.plot'), ok = 0, failed = [];
  plots.forEach(function (svg) {
    var box = svg.getBoundingClientRect(), series = svg.querySelector('g.series');
    var marks = series ? series.querySelectorAll('path, circle').length : 0;
    var bb = series ? series.getBBox() : {width: 0, height: 0};
    if (box.width > 0 && box.height > 0 && marks > 0 && (bb.width > 0 || bb.height > 0)) ok++;
    else failed.push(svg.id);
  });
  document.body.setAttribute('data-plots', String(plots.length));
  document.body.setAttribute('data-plots-rendered', String(ok));
  document.body.setAttribute('data-plots-failed', failed.join(' '));
});
"""


def render(lines, preset=None):
    """(page, number of plots) from the history's lines."""
    newest = max(lines, key=lambda l: (l.get("date") or "", l["run"]))
    if preset is None:
        preset = newest.get("preset")
    # Runs of other build modes (a test's fastbuild) are not comparable: the newest one's only.
    mode = newest.get("build_mode")
    lines = [l for l in lines if l.get("preset") == preset and l.get("build_mode") == mode]
    if not lines:
        return ("<!DOCTYPE html><html><body data-plots=\"0\" data-plots-rendered=\"0\" "
                "data-plots-failed=\"\"><p>No run with preset %s.</p></body></html>" % esc(preset),
                0)
    run_dates = {}
    for l in lines:
        run_dates.setdefault(l["run"], l.get("date") or "")
    runs = sorted(run_dates, key=lambda r: (run_dates[r], r))
    latest = runs[-1] if runs else None
    latest_lines = [l for l in lines if l["run"] == latest]
    by_name = {}
    for l in lines:
        by_name.setdefault(l["name"], {})[l["run"]] = l
    # A peer keeps its colour in every plot of its suite (the channel's 8 peers fit the palette).
    colors = {}
    for suite in sorted({l["suite"] for l in lines}):
        labels = sorted({l["label"] for l in lines if l["role"] == "peer" and l["suite"] == suite})
        colors[suite] = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}
    body = []
    plots = 0
    head = latest_lines[0] if latest_lines else {}
    body.append("<h1>helix-core perf lab</h1>")
    body.append("<p>%d runs (preset <b>%s</b>, build %s), latest <b>%s</b>: commit %s%s, host %s, %s. "
                "Medians with 95 %% confidence intervals; dashed lines are the peers measured in "
                "the same runs; a red triangle marks a regression against the previous run "
                "(Mann-Whitney p &lt; 0.05 and more than 10 %%), a green one an improvement. "
                "Compare ratios to peers, not absolute times: see docs/perf.md.</p>" % (
                    len(runs), esc(preset), esc(mode), esc(latest), esc(head.get("commit")),
                    " (uncommitted changes)" if head.get("dirty") else "", esc(head.get("host")),
                    esc(head.get("date"))))
    changes = []
    for l in latest_lines:
        for metric, m in l["metrics"].items():
            v = m.get("vs_previous", {})
            if v.get("verdict") in ("regression", "improvement"):
                changes.append((v["verdict"], l, metric, v))
    if changes:
        body.append("<h2>Changes in the latest run</h2><table><tr><th>verdict</th><th>role</th>"
                    "<th>benchmark</th><th>metric</th><th>change</th><th>p</th></tr>")
        for verdict, l, metric, v in sorted(changes, key=lambda c: (c[0], c[1]["role"],
                                                                     c[1]["name"])):
            body.append('<tr class="%s"><td>%s</td><td>%s</td><td><a href="#%s">%s</a></td>'
                        '<td>%s</td><td>%+.1f %%</td><td>%.3g</td></tr>' % (
                            verdict, verdict, esc(l["role"]), slug("plot-" + l["name"]),
                            esc(l["name"]), metric, 100 * (v.get("change") or 0), v.get("p") or 1))
        body.append("</table>")
    else:
        body.append("<p>No significant change in the latest run against the previous one.</p>")

    # The newest run that measured the channel (the newest run may have run other suites only).
    channel_runs = [r for r in runs if any(l["run"] == r and CHANNEL_RE.match(l["name"])
                                           for l in lines)]
    channel_run = channel_runs[-1] if channel_runs else None
    channel_lines = [l for l in lines if l["run"] == channel_run]
    figs = []
    for mode, metric, ylabel, what in (
            ("spin", "p50_ns", "p50 latency", "p50 one-way latency, consumer spinning"),
            ("block", "p50_ns", "p50 latency", "p50 one-way latency, consumer blocking"),
            ("spin", "real_time", "ns/msg", "throughput (ns per message), consumer spinning"),
            ("block", "real_time", "ns/msg", "throughput (ns per message), consumer blocking")):
        svg = producers_plot(slug("producers-%s-%s" % (metric, mode)), channel_lines, mode,
                             metric, ylabel, colors.get("channel_latency", {}))
        if svg:
            figs.append("<figure>%s<figcaption>%s (capacity 1024, 8-byte messages)</figcaption>"
                        "</figure>" % (svg, esc(what)))
    if figs:
        plots += len(figs)
        body.append("<h2>Channel: latency and throughput against producers (run %s)</h2>" %
                    esc(channel_run))
        body.append("<p>Saturated runs: every producer sends as fast as it can. With 2 CPUs, "
                    "more than one producer is oversubscription. A missing point is a run that "
                    "stalled or cannot block.</p>")
        body.append('<div class="grid-plots">%s</div>' % "".join(figs))

    suites = []
    for l in lines:
        if l["suite"] not in suites:
            suites.append(l["suite"])
    order = {}
    for i, l in enumerate(lines):
        order.setdefault(l["name"], i)
    for suite in suites:
        names = [n for n, series in by_name.items()
                 if next(iter(series.values()))["suite"] == suite
                 and next(iter(series.values()))["role"] in ("subject", "machine")]
        if not names:
            continue
        names.sort(key=lambda n: order[n])
        body.append('<h2 id="%s">%s</h2><div class="grid-plots">' % (slug("suite-" + suite),
                                                                      esc(suite)))
        for name in names:
            series = by_name[name]
            any_line = next(iter(series.values()))
            peers = {}
            for pname, pseries in by_name.items():
                p0 = next(iter(pseries.values()))
                if (p0["suite"] == suite and p0["role"] == "peer"
                        and p0["group"] in (any_line["group"], "*")):
                    peers.setdefault(p0["label"], {}).update(pseries)
            svg = history_plot(slug("svg-" + name), name, runs, series, peers, colors[suite])
            plots += 1
            body.append('<figure id="%s">%s<figcaption>%s</figcaption></figure>' % (
                slug("plot-" + name), svg, esc(name)))
        body.append("</div>")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>helix perf lab</title><style>%s</style></head><body>\n%s\n"
            "<script>%s</script></body></html>\n" % (CSS, "\n".join(body), CHECK_SCRIPT))
    return page, plots
