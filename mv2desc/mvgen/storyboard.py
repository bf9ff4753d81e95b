"""``storyboard.html``: one self-contained page (inline CSS, images as base64 JPEG data URIs, an
inline SVG beat strip) that a person opens to review the video: the style sheet at the top, the
headline scores, a waveform with beats, downbeats, segments and the video's measured visual beats,
then one card per segment (time span, description, keyframe, matched beats, BAS)."""

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
"""


def jpeg_data_uri(image: np.ndarray, width: int = 320) -> str:
    """A base64 JPEG data URI of RGB ``image`` scaled to ``width`` pixels."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 82])
    return "data:image/jpeg;base64," + base64.b64encode(jpg.tobytes()).decode("ascii") if ok else ""


def beat_strip(envelope: np.ndarray, duration_s: float, beats: list[float], downbeats: list[float],
               segments: list[tuple[float, float]], visual: list[float], width: int = 1000, height: int = 120) -> str:
    """Inline SVG: segments as alternating bands, the loudness envelope, beats (thin), downbeats (thick),
    the video's visual beats (triangles below)."""
    x = lambda t: f"{t / duration_s * width:.1f}"  # noqa: E731
    parts = [f'<svg viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="beat grid">']
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
    parts.append("</svg>")
    return "".join(parts)


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
    n_music_beats, n_matched, bas_visual, cached}`` (``thumbnail`` a data URI)."""
    e = html.escape
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
        img = f'<img src="{s["thumbnail"]}" alt="segment {s["index"]} keyframe">' if s["thumbnail"] else "<div class='muted'>no frame</div>"
        cards.append(
            f'<div class="box card">{img}<div><b>Segment {s["index"]}</b> &nbsp;<span class="muted">{_time(s["start_s"])} – '
            f'{_time(s["end_s"])} ({s["end_s"] - s["start_s"]:.1f} s)</span><div>{"".join(tags)}</div>'
            f'<p>{e(s["description"])}</p><div class="muted">music beats {s["n_music_beats"]} · matched visual beats '
            f'{s["n_matched"]} · BAS (visual) {_fmt(s["bas_visual"])}</div></div></div>')
    note_html = "".join(f"<li>{e(n)}</li>" for n in notes)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head><body><main>
<h1>{e(title)}</h1><div class="muted">{e(song['path'])} · {song['duration_s']:.1f} s · {f"{song['tempo_bpm']:.0f} bpm" if song['tempo_bpm'] else 'no beat found'} · {e(song['key'])} {e(song['mode'])}
 · {len(segments)} segments · renderer {e(song['renderer'])} · describer {e(song['describer'])}</div>
<h2>Style and character sheet</h2><div class="row"><div class="box" style="flex:1 1 380px"><div>{swatches}</div>
<p><b>Setting:</b> {e(style['setting'])}<br><b>Look:</b> {e(style['look'])}{'<br><b>Theme:</b> ' + e(style['theme']) if style['theme'] else ''}</p></div>
<div class="box" style="flex:1 1 420px"><table>{cast}</table></div><div class="box scores"><table>{score_rows}</table></div></div>
<h2>Beat grid</h2><div class="box">{strip_svg}<div class="muted">bands: segments · red: downbeats · yellow: beats ·
green ▲: visual beats measured on mv.mp4 · blue: loudness</div></div>
{f'<h2>Notes</h2><ul class="muted">{note_html}</ul>' if note_html else ''}
<h2>Segments</h2>{''.join(cards)}</main></body></html>"""
