"""Plotly figures for the Look inside tab, drawn from makemore.introspect results (no computing here).

Axes that show a line's characters are numeric with the characters as tick text: a line may repeat a
character ("emma"), and a categorical axis would merge the repeats. Each figure is built from plain
dicts in one go.Figure call: plotly validates every update, and figures built step by step (make_subplots,
update_layout with a template) took 100-500 ms each here, against 5-30 ms.
"""
import re

import plotly.graph_objects as go
import plotly.io as pio

from ..introspect import AttentionMap, BigramCounts, EmbeddingMap, HiddenActivations, NextCharChoices, NextCharProbs

FONT = dict(size=12)
# plotly_white's page, axis and font styles, without its per-trace-type defaults and 3-D/map/polar parts (this
# tab sets its own colour scales): validating the whole template took most of each figure's time
TEMPLATE = {"layout": {key: value for key, value in pio.templates["plotly_white"].layout.to_plotly_json().items()
                       if key in ("colorway", "font", "hoverlabel", "paper_bgcolor", "plot_bgcolor", "xaxis", "yaxis",
                                  "autotypenumbers")}}
KIND_COLORS = {"start/end": "#444444", "vowel": "#d62728", "consonant": "#1f77b4", "letter": "#2ca02c",
               "digit": "#9467bd", "other": "#ff7f0e"}


def figure(data: list[dict], axes: dict, title: str, height: int, x_title: str | None = None,
           y_title: str | None = None, legend: bool = False, **extra) -> go.Figure:
    """One figure from trace dicts and layout dicts, in the tab's common style."""
    axes = {**axes, "xaxis": {**axes.get("xaxis", {})}, "yaxis": {**axes.get("yaxis", {})}}
    if x_title is not None:
        axes["xaxis"]["title_text"] = x_title
    if y_title is not None:
        axes["yaxis"]["title_text"] = y_title
    style = dict(template=TEMPLATE, height=height, font=FONT, autosize=True, showlegend=legend,
                 title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
                 margin=dict(l=56, r=16, t=70, b=56),
                 legend=dict(orientation="h", yanchor="top", y=-0.12, x=0, font=dict(size=11)))
    return go.Figure(data=data, layout={**style, **axes, **extra})


def message_figure(message: str, height: int = 300) -> go.Figure:
    """An empty plot that says why there is nothing to draw."""
    text = dict(text=message, showarrow=False, font=dict(size=15, color="#666"), x=0.5, y=0.5, xref="paper",
                yref="paper")
    return go.Figure(layout=dict(template=TEMPLATE, height=height, annotations=[text], xaxis=dict(visible=False),
                                 yaxis=dict(visible=False), margin=dict(l=20, r=20, t=20, b=20)))


def subtitled(title: str, detail: str = "") -> str:
    """A short title (it must fit a phone) and a smaller second line."""
    return f"{title}<br><sup>{detail}</sup>" if detail else title


def ticks(labels: list[str], every: int = 1) -> dict:
    return dict(tickmode="array", tickvals=list(range(0, len(labels), every)), ticktext=labels[::every])


def probs_figure(r: NextCharProbs) -> go.Figure:
    """Top strip: the line coloured by surprisal; below: the next-character distribution at each position."""
    columns = [r.labels[t] for t in r.targets]  # the character each column predicts (the last: the end)
    positions, rows = list(range(len(columns))), len(r.shown)
    z = [[r.probs[pos][token] for pos in positions] for token in r.shown]
    strip = dict(type="heatmap", z=[r.surprisal], x=positions, y=[0], xaxis="x", yaxis="y2", coloraxis="coloraxis2",
                 text=[[f"{c}<br>{s:.1f}" for c, s in zip(columns, r.surprisal)]], texttemplate="%{text}",
                 customdata=[columns], hovertemplate="%{customdata}: surprise %{z:.2f} nats<extra></extra>")
    grid = dict(type="heatmap", z=z, x=positions, y=list(range(rows)), coloraxis="coloraxis",
                customdata=[[r.labels[t]] * len(columns) for t in r.shown],
                hovertemplate="P(next = %{customdata}) = %{z:.3f}<extra></extra>")
    actual = dict(type="scatter", x=positions, y=[r.shown.index(t) for t in r.targets], mode="markers",
                  hoverinfo="skip", marker=dict(symbol="square-open", size=15, color="#111", line=dict(width=2.5)))
    strip_height = min(0.14, 60 / (17 * rows + 60))
    axes = dict(
        xaxis=dict(title_text="the line, one character at a time", range=[-0.5, len(columns) - 0.5], showgrid=False,
                   **ticks(columns)),
        yaxis=dict(domain=[0, 1 - strip_height - 0.02], range=[rows - 0.5, -0.5], showgrid=False,
                   title_text="possible next character", **ticks([r.labels[t] for t in r.shown], 1 if rows <= 40 else 2)),
        yaxis2=dict(domain=[1 - strip_height, 1], showticklabels=False, showgrid=False, fixedrange=True),
        coloraxis=dict(colorscale="Blues", cmin=0, colorbar=dict(title="prob.", thickness=12, len=0.8, y=0.45)),
        coloraxis2=dict(colorscale="OrRd", cmin=0, cmax=max(6.0, max(r.surprisal)), showscale=False))
    title = subtitled(f"Next character along “{r.line}”",
                      f"total surprise {r.total_surprisal:.2f} nats = minus the line's log-probability")
    return figure([strip, grid, actual], axes, title, 180 + 17 * rows)


def choices_figure(r: NextCharChoices) -> go.Figure:
    labels = [label for label, _, _ in r.choices][::-1]
    probs = [p for _, _, p in r.choices][::-1]
    bars = dict(type="bar", x=probs, y=list(range(len(labels))), orientation="h", marker_color="#4f46e5",
                text=[f"{p:.0%}" for p in probs], textposition="outside", cliponaxis=False,
                hovertemplate="%{x:.3f}<extra></extra>")
    axes = dict(yaxis=ticks(labels), xaxis=dict(range=[0, min(1.0, max(probs) * 1.25)], tickformat=".0%"))
    shown = r.prefix or "(nothing yet)"
    return figure([bars], axes, f"What comes after “{shown}”?", 110 + 26 * len(labels), "probability",
                  "next character")


def embedding_figure(r: EmbeddingMap) -> go.Figure:
    big = len(r.labels) > 60
    data = []
    for kind, color in KIND_COLORS.items():
        index = [i for i, k in enumerate(r.kinds) if k == kind]
        if index:
            data.append(dict(type="scatter", x=[r.x[i] for i in index], y=[r.y[i] for i in index], name=kind,
                             mode="markers+text", text=[r.labels[i] for i in index], textposition="middle center",
                             textfont=dict(color="white", size=9 if big else 13),
                             marker=dict(size=14 if big else 26, color=color, opacity=0.85),
                             hovertemplate="%{text}<extra>" + kind + "</extra>"))
    if r.method.endswith("exact"):
        x_title, y_title = "embedding number 1", "embedding number 2"
    else:
        x_title, y_title = (f"direction {i + 1} ({share:.0%} of the spread)" for i, share in enumerate(r.explained))
    what = "Bigram rows" if r.method.startswith("bigram") else "Character embeddings"
    return figure(data, {}, f"{what} in 2-D", 460, x_title, y_title, legend=True)


def bigram_figure(r: BigramCounts, dataset: str) -> go.Figure:
    n = len(r.labels)
    text = [[f"{r.labels[i]}{r.labels[j]}<br>{c}" if c else "" for j, c in enumerate(row)] for i, row in
            enumerate(r.counts)]
    pairs = [[f"{r.labels[i]} → {r.labels[j]}" for j in range(n)] for i in range(n)]
    cells = dict(type="heatmap", z=r.counts, x=list(range(n)), y=list(range(n)), colorscale="Blues", showscale=False,
                 customdata=pairs, hovertemplate="%{customdata}: %{z:,}<extra></extra>")
    if n <= 30:
        cells.update(text=text, texttemplate="%{text}", textfont=dict(size=8))
    every = 1 if n <= 45 else 2
    axes = dict(xaxis=dict(side="top", range=[-0.5, n - 0.5], showgrid=False, **ticks(r.labels, every)),
                yaxis=dict(range=[n - 0.5, -0.5], showgrid=False, **ticks(r.labels, every)))
    part = "" if r.shown_share >= 1 else f", the {n - 1} most frequent of {r.vocab_chars} characters"
    title = subtitled(f"Bigram counts of “{dataset}”", f"{r.total:,} pairs{part}")
    return figure([cells], axes, title, 150 + 28 * n if n <= 30 else 820, "next character", "character",
                  margin=dict(l=56, r=16, t=90, b=30))


def attention_figure(r: AttentionMap, max_layers: int = 8, max_heads: int = 8) -> go.Figure:
    """A grid of small heatmaps, layers down and heads across, built as one dict (make_subplots and per-axis
    updates take several times longer for a 4 x 4 grid)."""
    layers, heads, t = min(len(r.weights), max_layers), min(len(r.weights[0]), max_heads), len(r.labels)
    gap_x, gap_y = 0.03, 0.22 / layers
    width, height = (1 - gap_x * (heads - 1)) / heads, (1 - gap_y * (layers - 1)) / layers
    every = 1 if t <= 12 else 2
    axis = dict(showgrid=False, tickfont=dict(size=9), tickmode="array", tickvals=list(range(0, t, every)),
                ticktext=r.labels[::every])
    data, axes, titles = [], {}, []
    for i in range(layers):
        for h in range(heads):
            n = "" if i == h == 0 else str(i * heads + h + 1)
            x0, top = h * (width + gap_x), 1 - i * (height + gap_y)
            axes[f"xaxis{n}"] = dict(axis, domain=[x0, x0 + width], anchor=f"y{n}", range=[-0.5, t - 0.5])
            axes[f"yaxis{n}"] = dict(axis, domain=[top - height, top], anchor=f"x{n}", range=[t - 0.5, -0.5])
            z = [[w if k <= q else None for k, w in enumerate(row)] for q, row in enumerate(r.weights[i][h])]
            data.append(dict(type="heatmap", z=z, xaxis=f"x{n}", yaxis=f"y{n}", coloraxis="coloraxis",
                             hovertemplate="attention %{z:.2f}<extra></extra>"))
            titles.append(dict(text=f"layer {i + 1} · head {h + 1}", x=x0 + width / 2, y=top, xref="paper",
                               yref="paper", xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=11)))
    coloraxis = dict(colorscale="Viridis", cmin=0, cmax=1, colorbar=dict(title="weight", thickness=10, len=0.5))
    more = "" if (layers, heads) == (len(r.weights), len(r.weights[0])) else \
        f"first {layers} of {len(r.weights)} layers, {heads} of {len(r.weights[0])} heads"
    return figure(data, axes, subtitled(f"Attention over “{r.line}”", more), 90 + 170 * layers, annotations=titles,
                  coloraxis=coloraxis, margin=dict(l=36, r=10, t=80, b=30))


def hidden_figure(r: HiddenActivations) -> go.Figure:
    cells = dict(type="heatmap", z=r.values, x=list(range(len(r.labels))), y=list(range(len(r.units))),
                 colorscale="RdBu", zmid=0, reversescale=True, colorbar=dict(title="value", thickness=12),
                 customdata=[[u] * len(r.labels) for u in r.units],
                 hovertemplate="unit %{customdata}: %{z:.2f}<extra></extra>")
    axes = dict(xaxis=dict(range=[-0.5, len(r.labels) - 0.5], showgrid=False, **ticks(r.labels)),
                yaxis=dict(range=[len(r.units) - 0.5, -0.5], showgrid=False, **ticks([f"unit {u}" for u in r.units])))
    order = "most active" if r.rank_by == "activity" else "most changing"
    title = subtitled(f"Hidden units along “{r.line}”", f"the {len(r.units)} {order} of {r.total_units}: {r.layer}")
    return figure([cells], axes, title, 150 + 22 * len(r.units), "character just read")


def pretty_layer(name: str) -> str:
    """Module paths as people say them: blocks.0.mlp.1 -> block 1 mlp.1."""
    return re.sub(r"blocks\.(\d+)\.", lambda m: f"block {int(m.group(1)) + 1} ", name)


def health_figures(h) -> tuple[go.Figure, go.Figure]:
    """(activations and their gradients over steps, update-to-data ratios over steps)."""
    if not h.steps:
        message = ("No training-health records in this run yet.<br>They are written at each evaluation by runs<br>"
                   "trained with this version (not the shipped runs):<br>train one to see them here.")
        return message_figure(message), message_figure("No update-to-data ratios yet")
    panels = [("std", "activation spread (std)", 1), ("saturated", "saturated (% in the flat region)", 100),
              ("grad_std", "gradient spread (std) at the layer", 1)]
    data, axes, titles = [], {}, []
    for row, (key, title, scale) in enumerate(panels):
        n = "" if row == 0 else str(row + 1)
        top = 1 - row * 0.36
        axes[f"yaxis{n}"] = dict(domain=[top - 0.28, top], anchor="x", exponentformat="e")  # 2e-5, not 20µ
        titles.append(dict(text=title, x=0.5, y=top, xref="paper", yref="paper", xanchor="center", yanchor="bottom",
                           showarrow=False, font=dict(size=12)))
        for index, (name, series) in enumerate(h.layers.items()):
            data.append(dict(type="scatter", x=h.steps, yaxis=f"y{n}", mode="lines+markers", legendgroup=name,
                             y=[None if v is None else scale * v for v in series[key]], showlegend=row == 0,
                             name=f"{pretty_layer(name)} ({series['kind']})", line=dict(color=palette(index)),
                             marker=dict(size=5)))
    axes["xaxis"] = dict(anchor=f"y{len(panels)}")  # one step axis, under the bottom panel
    if not h.layers:
        titles.append(dict(text="This architecture has no hidden layers", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper"))
    acts = figure(data, axes, "Hidden layers during training", 620, "training step", legend=bool(h.layers),
                  annotations=titles)
    lines = [dict(type="scatter", x=h.steps, y=s["update_to_data_log10"], mode="lines", name=pretty_layer(name),
                  line=dict(color=palette(n), width=1.8)) for n, (name, s) in enumerate(h.params.items())]
    rule = dict(type="line", xref="paper", x0=0, x1=1, y0=-3, y1=-3, line=dict(color="#111", dash="dash"))
    note = dict(text="-3: the lecture's rule of thumb", xref="paper", x=0, y=-3, xanchor="left", yanchor="bottom",
                showarrow=False)
    updates = figure(lines, {}, subtitled("Update size / weight size", "log10, per weight matrix"), 460,
                     "training step", "log10(update std / weight std)", legend=True, shapes=[rule], annotations=[note])
    return acts, updates


def palette(n: int) -> str:
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
              "#bcbd22"]
    return colors[n % len(colors)]
