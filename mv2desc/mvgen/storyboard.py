"""``storyboard.html``: one self-contained page (inline CSS, images as base64 JPEG data URIs, an
inline SVG beat strip) that a person opens to review the video: the style sheet at the top (with the
sections' recurring motifs), the headline scores, a waveform with beats, downbeats, segments and the
video's measured visual beats under a strip of the song's sections (label and name, coloured by motif),
then one card per segment (time span, section, description, lyric lines, keyframe, matched beats, BAS)."""

from __future__ import annotations

import base64
import html

import cv2
import numpy as np

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#111318;color:#e8e8ec}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px;color:#c9c9d4}
.muted{color:#9a9aa8}.row{display:flex;gap:16px;flex-wrap:wrap}
.box{background:#1b1e26;border:1px solid #2a2e3a;border-radius:10px;padding:14px}
.sw{display:inline-block;width:44px;height:44px;border-radius:8px;margin-right:6px;border:1px solid #0006}
table{border-collapse:collapse}td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
.scores td:first-child{color:#9a9aa8}.card{display:grid;grid-template-columns:260px 1fr;gap:14px;margin-bottom:12px}
.card img{width:260px;border-radius:6px;display:block}.tag{display:inline-block;background:#2a2e3a;border-radius:4px;
padding:1px 6px;margin-right:4px;font-size:12px}.edited{background:#6b4b00}svg{width:100%;height:auto;display:block}
.lyrics{margin:6px 0;padding:4px 10px;border-left:3px solid #4a6fa5;color:#c9c9d4;font-style:italic}
.section{color:#111318;font-weight:600}
"""
# section colours when the style sheet has no motifs (a song of one section, or sections off)
LABEL_COLOURS = ((106, 160, 230), (230, 150, 90), (120, 200, 140), (210, 120, 200), (220, 200, 100), (110, 200, 210))


def label_colour(label: str, colours: dict | None = None) -> tuple[int, int, int]:
    """The colour a section label is drawn in: its motif's key colour, else one of :data:`LABEL_COLOURS`."""
    if colours and label in colours:
        return tuple(int(c) for c in colours[label])
    k = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(label))) - 1 if label.isalpha() else 0
    return LABEL_COLOURS[k % len(LABEL_COLOURS)]


def _css_rgb(c) -> str:
    return f"rgb({int(c[0])},{int(c[1])},{int(c[2])})"



def jpeg_data_uri(image: np.ndarray, width: int = 320) -> str:
    """A base64 JPEG data URI of RGB ``image`` scaled to ``width`` pixels."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 82])
    return "data:image/jpeg;base64," + base64.b64encode(jpg.tobytes()).decode("ascii") if ok else ""


SECTION_STRIP_PX = 24  # height of the section strip above the beat grid


def beat_strip(envelope: np.ndarray, duration_s: float, beats: list[float], downbeats: list[float],
               segments: list[tuple[float, float]], visual: list[float], width: int = 1000, height: int = 120, *,
               sections: list[dict] | None = None, colours: dict | None = None) -> str:
    """Inline SVG: segments as alternating bands, the loudness envelope, beats (thin), downbeats (thick),
    the video's visual beats (triangles below); with ``sections`` (``{start_s, end_s, label, name}``), a
    strip of them on top, each band in its label's colour (``colours``: label -> RGB, the motifs' key
    colours) and titled with its label and name."""
    x = lambda t: f"{t / duration_s * width:.1f}"  # noqa: E731
    top = SECTION_STRIP_PX if sections else 0
    parts = [f'<svg viewBox="0 0 {width} {height + top}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="beat grid">']
    if sections:
        parts.append('<g class="sections" aria-label="song sections">')
        for sec in sections:
            a, b = float(x(sec["start_s"])), float(x(sec["end_s"]))
            name = html.escape(f"{sec['label']} {sec['name']}")
            parts.append(f'<rect x="{a:.1f}" y="1" width="{max(b - a - 1, 0.5):.1f}" height="{top - 4}" rx="3" '
                         f'fill="{_css_rgb(label_colour(sec["label"], colours))}"><title>{name}</title></rect>')
            parts.append(f'<text x="{a + 4:.1f}" y="{top - 8}" fill="#111318" font-size="12" font-weight="600">{name}</text>')
        parts.append(f'</g><g transform="translate(0,{top})">')
    for k, (a, b) in enumerate(segments):
        fill = "#232838" if k % 2 == 0 else "#1a1d27"
        parts.append(f'<rect x="{x(a)}" y="0" width="{float(x(b)) - float(x(a)):.1f}" height="{height - 20}" fill="{fill}"/>')
        parts.append(f'<text x="{float(x(a)) + 3:.1f}" y="12" fill="#8a8fa3" font-size="10">{k}</text>')
    if envelope.size:
        env = envelope / (envelope.max() or 1.0)
        mid, amp = (height - 20) / 2, (height - 20) / 2 - 14
        xs = np.linspace(0, width, env.size)
        top = " ".join(f"{a:.1f},{mid - e * amp:.1f}" for a, e in zip(xs, env))
        bottom = " ".join(f"{a:.1f},{mid + e * amp:.1f}" for a, e in zip(xs[::-1], env[::-1]))
        parts.append(f'<polygon points="{top} {bottom}" fill="#4a6fa5" opacity="0.75"/>')
    for t in beats:
        parts.append(f'<line x1="{x(t)}" x2="{x(t)}" y1="16" y2="{height - 20}" stroke="#e0c060" stroke-width="0.6" opacity="0.7"/>')
    for t in downbeats:
        parts.append(f'<line x1="{x(t)}" x2="{x(t)}" y1="16" y2="{height - 20}" stroke="#ff5a5a" stroke-width="1.6"/>')
    for t in visual:
        parts.append(f'<polygon points="{x(t)},{height - 18} {float(x(t)) - 4:.1f},{height - 6} {float(x(t)) + 4:.1f},{height - 6}" fill="#6fe3a1"/>')
    parts.append("</g></svg>" if sections else "</svg>")
    return "".join(parts)


def _swatches(palette, size: int = 44) -> str:
    return "".join(f'<span class="sw" style="width:{size}px;height:{size}px;background:{_css_rgb(c)}"></span>' for c in palette)


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))


def _time(t: float) -> str:
    """``m:ss.cc``, rounded to the hundredth before splitting (59.997 s is ``1:00.00``, never ``0:60.00``)."""
    cs = round(max(0.0, t) * 100)
    minutes, rest = divmod(cs, 6000)
    return f"{minutes}:{rest // 100:02d}.{rest % 100:02d}"


def render_storyboard(*, title: str, song: dict, style: dict, scores: dict, strip_svg: str, segments: list[dict],
                      notes: list[str]) -> str:
    """The page. ``segments``: per segment ``{index, start_s, end_s, bars, description, edited, thumbnail,
    n_music_beats, n_matched, bas_visual, cached}`` (``thumbnail`` a data URI), optionally ``section``
    (``{label, name}``) and ``lyrics`` (``[{start_s, end_s, text, approximate?}]``). ``style`` may hold
    ``motifs`` (label -> :meth:`mv2desc.mvgen.style.Motif.to_dict`)."""
    e = html.escape
    motifs = style.get("motifs") or {}
    colours = {label: m["palette"][0] for label, m in motifs.items()}
    swatches = "".join(f'<span class="sw" title="rgb{tuple(c)}" style="background:rgb({c[0]},{c[1]},{c[2]})"></span>' for c in style["palette"])
    cast = "".join(
        f"<tr><td><b>{e(c['name'])}</b></td><td>{e(c['role'])}</td><td>{e(c['age'])}</td><td>{e(c['face'])}; {e(c['hair'])}; "
        f"wearing {e(c['clothing'])}</td></tr>" for c in style["characters"])
    score_rows = "".join(f"<tr><td>{e(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in scores.items())
    cards = []
    for s in segments:
        tags = [f'<span class="tag">{s["bars"]} bars</span>', f'<span class="tag">{"cached" if s["cached"] else "rendered"}</span>']
        if s["edited"]:
            tags.append('<span class="tag edited">edited description</span>')
        if s.get("section"):
            sec = s["section"]
            tags.insert(0, f'<span class="tag section" style="background:{_css_rgb(label_colour(sec["label"], colours))}">'
                           f'section {e(sec["label"])} · {e(sec["name"])}</span>')
        lines = s.get("lyrics") or []
        lyric_html = ("<blockquote class=\"lyrics\">" + "<br>".join(
            f'<span title="{_time(ln["start_s"])}{" (approximate)" if ln.get("approximate") else ""}">'
            f'{"≈ " if ln.get("approximate") else ""}{e(ln["text"])}</span>' for ln in lines) + "</blockquote>") if lines else ""
        img = f'<img src="{s["thumbnail"]}" alt="segment {s["index"]} keyframe">' if s["thumbnail"] else "<div class='muted'>no frame</div>"
        cards.append(
            f'<div class="box card">{img}<div><b>Segment {s["index"]}</b> &nbsp;<span class="muted">{_time(s["start_s"])} – '
            f'{_time(s["end_s"])} ({s["end_s"] - s["start_s"]:.1f} s)</span><div>{"".join(tags)}</div>'
            f'<p>{e(s["description"])}</p>{lyric_html}<div class="muted">music beats {s["n_music_beats"]} · matched visual beats '
            f'{s["n_matched"]} · BAS (visual) {_fmt(s["bas_visual"])}</div></div></div>')
    note_html = "".join(f"<li>{e(n)}</li>" for n in notes)
    motif_rows = "".join(
        f'<tr><td><span class="tag section" style="background:{_css_rgb(m["palette"][0])}">{e(label)} · {e(m["name"])}</span></td>'
        f'<td>{e(m["place"])}</td><td>{e(", ".join(m["characters"]) or "no one in frame")}</td>'
        f'<td>{_swatches(m["palette"], 16)}</td></tr>'
        for label, m in motifs.items())
    motif_html = f'<h2>Recurring motifs (one per section label)</h2><div class="box"><table>{motif_rows}</table></div>' if motifs else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head><body><main>
<h1>{e(title)}</h1><div class="muted">{e(song['path'])} · {song['duration_s']:.1f} s · {f"{song['tempo_bpm']:.0f} bpm" if song['tempo_bpm'] else 'no beat found'} · {e(song['key'])} {e(song['mode'])}
 · {len(segments)} segments · renderer {e(song['renderer'])} · describer {e(song['describer'])}</div>
<h2>Style and character sheet</h2><div class="row"><div class="box" style="flex:1 1 380px"><div>{swatches}</div>
<p><b>Setting:</b> {e(style['setting'])}<br><b>Look:</b> {e(style['look'])}{'<br><b>Theme:</b> ' + e(style['theme']) if style['theme'] else ''}</p></div>
<div class="box" style="flex:1 1 420px"><table>{cast}</table></div><div class="box scores"><table>{score_rows}</table></div></div>
{motif_html}
<h2>Beat grid</h2><div class="box">{strip_svg}<div class="muted">{'top strip: song sections (label, name) · ' if 'class="sections"' in strip_svg else ''}bands: segments · red: downbeats · yellow: beats ·
green ▲: visual beats measured on mv.mp4 · blue: loudness</div></div>
{f'<h2>Notes</h2><ul class="muted">{note_html}</ul>' if note_html else ''}
<h2>Segments</h2>{''.join(cards)}</main></body></html>"""
