"""Plotly figures for the Look inside tab, drawn from makemore.introspect results (no computing here).

Axes that show a line's characters are numeric with the characters as tick text: a line may repeat a
character ("emma"), and a categorical axis would merge the repeats.
"""
import re

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..introspect import AttentionMap, BigramCounts, EmbeddingMap, HiddenActivations, NextCharChoices, NextCharProbs
from .common import empty_figure

FONT = dict(size=12)
KIND_COLORS = {"start/end": "#444444", "vowel": "#d62728", "consonant": "#1f77b4", "letter": "#2ca02c",
               "digit": "#9467bd", "other": "#ff7f0e"}


def layout(fig: go.Figure, title: str, height: int, x_title: str | None = None, y_title: str | None = None,
           legend: bool = False) -> go.Figure:
    fig.update_layout(template="plotly_white", height=height, font=FONT, autosize=True,
                      title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
                      margin=dict(l=56, r=16, t=70, b=56), showlegend=legend,
                      legend=dict(orientation="h", yanchor="top", y=-0.12, x=0, font=dict(size=11)))
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    return fig


def subtitled(title: str, detail: str = "") -> str:
    """A short title (it must fit a phone) and a smaller second line."""
    return f"{title}<br><sup>{detail}</sup>" if detail else title


def ticks(labels: list[str], every: int = 1) -> dict:
    return dict(tickmode="array", tickvals=list(range(0, len(labels), every)), ticktext=labels[::every])


def probs_figure(r: NextCharProbs) -> go.Figure:
    """Top: the line coloured by surprisal; below: the next-character distribution at each position."""
    columns = [r.labels[t] for t in r.targets]  # the character each column predicts (the last: the end)
    shown = r.shown
    z = [[r.probs[pos][token] for pos in range(len(columns))] for token in shown]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.1, 0.9], vertical_spacing=0.03)
    fig.add_heatmap(z=[r.surprisal], x=list(range(len(columns))), y=[0], coloraxis="coloraxis2",
                    text=[[f"{c}<br>{s:.1f}" for c, s in zip(columns, r.surprisal)]], texttemplate="%{text}",
                    hovertemplate="%{customdata}: surprise %{z:.2f} nats<extra></extra>", customdata=[columns],
                    row=1, col=1)
    fig.add_heatmap(z=z, x=list(range(len(columns))), y=list(range(len(shown))), coloraxis="coloraxis",
                    customdata=[[r.labels[t]] * len(columns) for t in shown],
                    hovertemplate="P(next = %{customdata}) = %{z:.3f}<extra></extra>", row=2, col=1)
    actual_rows = [shown.index(t) for t in r.targets]
    fig.add_scatter(x=list(range(len(columns))), y=actual_rows, mode="markers", row=2, col=1, hoverinfo="skip",
                    marker=dict(symbol="square-open", size=15, color="#111", line=dict(width=2.5)))
    rows = len(shown)
    fig.update_yaxes(row=1, col=1, showticklabels=False, fixedrange=True)
    fig.update_yaxes(row=2, col=1, range=[rows - 0.5, -0.5], title_text="possible next character",
                     **ticks([r.labels[t] for t in shown], 1 if rows <= 40 else 2))
    fig.update_xaxes(row=2, col=1, title_text="the line, one character at a time", **ticks(columns))
    fig.update_xaxes(range=[-0.5, len(columns) - 0.5], showgrid=False)
    fig.update_yaxes(showgrid=False)
    fig.update_layout(coloraxis=dict(colorscale="Blues", cmin=0, colorbar=dict(title="prob.", thickness=12, len=0.8,
                                                                                   y=0.45)),
                      coloraxis2=dict(colorscale="OrRd", cmin=0, cmax=max(6.0, max(r.surprisal)), showscale=False))
    title = subtitled(f"Next character along “{r.line}”",
                      f"total surprise {r.total_surprisal:.2f} nats = minus the line's log-probability")
    return layout(fig, title, 180 + 17 * rows)


def choices_figure(r: NextCharChoices) -> go.Figure:
    labels = [label for label, _, _ in r.choices][::-1]
    probs = [p for _, _, p in r.choices][::-1]
    fig = go.Figure(go.Bar(x=probs, y=list(range(len(labels))), orientation="h", marker_color="#4f46e5",
                           text=[f"{p:.0%}" for p in probs], textposition="outside", cliponaxis=False,
                           hovertemplate="%{x:.3f}<extra></extra>"))
    fig.update_yaxes(**ticks(labels))
    fig.update_xaxes(range=[0, min(1.0, max(probs) * 1.25)], tickformat=".0%")
    shown = r.prefix or "(nothing yet)"
    return layout(fig, f"What comes after “{shown}”?", 110 + 26 * len(labels), "probability", "next character")


def embedding_figure(r: EmbeddingMap) -> go.Figure:
    fig = go.Figure()
    big = len(r.labels) > 60
    for kind, color in KIND_COLORS.items():
        index = [i for i, k in enumerate(r.kinds) if k == kind]
        if not index:
            continue
        fig.add_scatter(x=[r.x[i] for i in index], y=[r.y[i] for i in index], mode="markers+text", name=kind,
                        text=[r.labels[i] for i in index], textposition="middle center",
                        textfont=dict(color="white", size=9 if big else 13),
                        marker=dict(size=14 if big else 26, color=color, opacity=0.85),
                        hovertemplate="%{text}<extra>" + kind + "</extra>")
    if r.method.endswith("exact"):
        x_title, y_title = "embedding number 1", "embedding number 2"
    else:
        x_title, y_title = (f"direction {i + 1} ({share:.0%} of the spread)" for i, share in enumerate(r.explained))
    what = "Bigram rows" if r.method.startswith("bigram") else "Character embeddings"
    return layout(fig, f"{what} in 2-D", 460, x_title, y_title, legend=True)


def bigram_figure(r: BigramCounts, dataset: str) -> go.Figure:
    n = len(r.labels)
    text = [[f"{r.labels[i]}{r.labels[j]}<br>{c}" if c else "" for j, c in enumerate(row)] for i, row in
            enumerate(r.counts)]
    pairs = [[f"{r.labels[i]} → {r.labels[j]}" for j in range(n)] for i in range(n)]
    fig = go.Figure(go.Heatmap(z=r.counts, x=list(range(n)), y=list(range(n)), colorscale="Blues",
                               text=text if n <= 30 else None, texttemplate="%{text}" if n <= 30 else None,
                               textfont=dict(size=8), customdata=pairs, showscale=False,
                               hovertemplate="%{customdata}: %{z:,}<extra></extra>"))
    every = 1 if n <= 45 else 2
    fig.update_xaxes(side="top", range=[-0.5, n - 0.5], showgrid=False, **ticks(r.labels, every))
    fig.update_yaxes(range=[n - 0.5, -0.5], showgrid=False, **ticks(r.labels, every))
    part = "" if r.shown_share >= 1 else f", the {n - 1} most frequent of {r.vocab_chars} characters"
    title = subtitled(f"Bigram counts of “{dataset}”", f"{r.total:,} pairs{part}")
    fig = layout(fig, title, 150 + 28 * n if n <= 30 else 820, "next character", "character")
    fig.update_layout(margin=dict(t=90))
    return fig


def attention_figure(r: AttentionMap, max_layers: int = 8, max_heads: int = 8) -> go.Figure:
    layers, heads = min(len(r.weights), max_layers), min(len(r.weights[0]), max_heads)
    titles = [f"layer {i + 1} · head {h + 1}" for i in range(layers) for h in range(heads)]
    fig = make_subplots(rows=layers, cols=heads, subplot_titles=titles, horizontal_spacing=0.03,
                        vertical_spacing=0.22 / layers)
    t = len(r.labels)
    for i in range(layers):
        for h in range(heads):
            z = [[w if k <= q else None for k, w in enumerate(row)] for q, row in enumerate(r.weights[i][h])]
            fig.add_heatmap(z=z, x=list(range(t)), y=list(range(t)), coloraxis="coloraxis", row=i + 1, col=h + 1,
                            hovertemplate="attention %{z:.2f}<extra></extra>")
    every = 1 if t <= 12 else 2
    fig.update_xaxes(tickfont=dict(size=9), range=[-0.5, t - 0.5], showgrid=False, **ticks(r.labels, every))
    fig.update_yaxes(tickfont=dict(size=9), range=[t - 0.5, -0.5], showgrid=False, **ticks(r.labels, every))
    fig.update_annotations(font=dict(size=11))
    fig.update_layout(coloraxis=dict(colorscale="Viridis", cmin=0, cmax=1,
                                     colorbar=dict(title="weight", thickness=10, len=0.5)))
    more = "" if (layers, heads) == (len(r.weights), len(r.weights[0])) else \
        f" (first {layers} of {len(r.weights)} layers, {heads} of {len(r.weights[0])} heads)"
    fig = layout(fig, subtitled(f"Attention over “{r.line}”", more.strip(" ()")), 90 + 170 * layers)
    fig.update_layout(margin=dict(l=36, r=10, t=80, b=30))
    return fig


def hidden_figure(r: HiddenActivations) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=r.values, x=list(range(len(r.labels))), y=list(range(len(r.units))),
                               colorscale="RdBu", zmid=0, reversescale=True,
                               colorbar=dict(title="value", thickness=12),
                               hovertemplate="unit %{customdata}: %{z:.2f}<extra></extra>",
                               customdata=[[u] * len(r.labels) for u in r.units]))
    fig.update_xaxes(range=[-0.5, len(r.labels) - 0.5], showgrid=False, **ticks(r.labels))
    fig.update_yaxes(range=[len(r.units) - 0.5, -0.5], showgrid=False, **ticks([f"unit {u}" for u in r.units]))
    order = "most active" if r.rank_by == "activity" else "most changing"
    title = subtitled(f"Hidden units along “{r.line}”", f"the {len(r.units)} {order} of {r.total_units}: {r.layer}")
    return layout(fig, title, 150 + 22 * len(r.units), "character just read", None)


def pretty_layer(name: str) -> str:
    """Module paths as people say them: blocks.0.mlp.1 -> block 1 mlp.1."""
    return re.sub(r"blocks\.(\d+)\.", lambda m: f"block {int(m.group(1)) + 1} ", name)


def health_figures(h) -> tuple[go.Figure, go.Figure]:
    """(activations and their gradients over steps, update-to-data ratios over steps)."""
    if not h.steps:
        message = ("No training-health records in this run yet.<br>They are written at each evaluation by runs<br>"
                   "trained with this version (not the shipped runs):<br>train one to see them here.")
        return empty_figure(message, 300), empty_figure("No update-to-data ratios yet", 300)
    acts = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.09,
                         subplot_titles=["activation spread (std)", "saturated (% in the flat region)",
                                         "gradient spread (std) at the layer"])
    for n, (name, s) in enumerate(h.layers.items()):
        style = dict(mode="lines+markers", name=f"{pretty_layer(name)} ({s['kind']})", legendgroup=name,
                     line=dict(color=palette(n)), marker=dict(size=5))
        acts.add_scatter(x=h.steps, y=s["std"], row=1, col=1, **style)
        acts.add_scatter(x=h.steps, y=[None if v is None else 100 * v for v in s["saturated"]], row=2, col=1,
                         showlegend=False, **style)
        acts.add_scatter(x=h.steps, y=s["grad_std"], row=3, col=1, showlegend=False, **style)
    acts.update_xaxes(title_text="training step", row=3, col=1)
    acts.update_yaxes(exponentformat="e")  # 2e-5, not the SI prefix 20µ
    acts.update_annotations(font=dict(size=12))
    acts = layout(acts, "Hidden layers during training", 620, legend=bool(h.layers))
    if not h.layers:
        acts.add_annotation(text="This architecture has no hidden layers", showarrow=False, x=0.5, y=0.5,
                            xref="paper", yref="paper")
    updates = go.Figure()
    for n, (name, s) in enumerate(h.params.items()):
        updates.add_scatter(x=h.steps, y=s["update_to_data_log10"], mode="lines", name=pretty_layer(name),
                            line=dict(color=palette(n), width=1.8))
    updates.add_hline(y=-3, line=dict(color="#111", dash="dash"), annotation_text="-3: the lecture's rule of thumb",
                      annotation_position="top left")
    updates = layout(updates, subtitled("Update size / weight size", "log10, per weight matrix"), 460, "training step",
                     "log10(update std / weight std)", legend=True)
    return acts, updates


def palette(n: int) -> str:
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
              "#bcbd22"]
    return colors[n % len(colors)]
