"""Writes tests/data/html/: news pages built from real article text in three site templates.

Run from the repository root: `python tests/data/make_html_pages.py`. Article text comes from
examples/seeds (Mehr News Agency, CC BY 4.0) and tests/data/lee_background.cor (ABC news);
the templates around it (navigation, share bars, related links, comment forms, footers,
scripts) are written here to look like the pages these articles were scraped from.
`html_expected.json` (beside the folder: every file inside it is a page) lists, per page,
the body paragraphs that must survive extraction and cleaning, and the boilerplate lines
that must not.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "html"

MEHR = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - Tehran Times</title>
<meta property="og:title" content="{title}"><meta name="date" content="2020-11-15">
<script>window.dataLayer=[];function gtag(){{dataLayer.push(arguments)}}</script>
<style>.nav li{{display:inline}}</style></head>
<body><header><div class="logo">Tehran Times</div>
<ul class="nav"><li><a href="/">Home</a></li><li><a href="/politics">Politics</a></li>
<li><a href="/economy">Economy</a></li><li><a href="/sports">Sports</a></li></ul></header>
<main><article><h1>{title}</h1><div class="date">November 15, 2020 - 18:2</div>
<div class="share">Share this article on Facebook | Twitter | Telegram</div>
<div class="body">{body}</div></article>
<section class="comments"><h3>Leave a Comment</h3>
<form><label>Name</label><input name="n"><label>Email</label><input name="e">
<p>Your email address will not be published.</p><p>0 + 0 =</p><input name="c">
<button>Send</button></form></section>
<aside><h4>Related news</h4><ul><li><a href="/1">Iran, Iraq discuss border security</a></li>
<li><a href="/2">Defense minister meets Iraqi counterpart</a></li></ul></aside></main>
<footer><p>All Content by Tehran Times is licensed under a Creative Commons Attribution 4.0
International License.</p><p>Copyright 2020 Tehran Times</p></footer></body></html>
"""

NEWS = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title} | Example Broadcasting News</title>
<script src="/static/analytics.js"></script>
<script>var ads = {{slot: "top", size: [728, 90]}};</script></head>
<body><div id="top-bar">Skip to main content | Accessibility | Sign in</div>
<nav><a href="/news">News</a> <a href="/world">World</a> <a href="/business">Business</a>
<a href="/sport">Sport</a> <a href="/weather">Weather</a></nav>
<div class="main"><h1>{title}</h1><p class="byline">Posted {date}</p>
<div class="social">Share on Facebook Share on Twitter Email this story</div>
<div class="story">{body}</div>
<div class="read-more"><a href="/more">Read more stories from Example Broadcasting News</a></div>
<div class="related"><h3>Related stories</h3><ul><li><a href="/a">Bushfire threat eases</a></li>
<li><a href="/b">Parliament resumes next week</a></li></ul></div></div>
<footer><p>Subscribe to our newsletter for the day's top stories.</p>
<p>© 2001 Example Broadcasting News. All rights reserved.</p></footer>
<script>document.querySelectorAll('.social a').forEach(function(a){{a.target='_blank'}})</script>
</body></html>
"""

BLOG = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title} – The Regional Ledger</title></head>
<body><header><h2>The Regional Ledger</h2><p>Independent local journalism since 1998</p>
</header><div class="post"><h1 class="entry-title">{title}</h1>
<span class="posted-on">Published {date}</span>
<div class="entry-content">{body}</div>
<div class="sharedaddy"><h3>Share this:</h3><a>Twitter</a> <a>Facebook</a> <a>Print</a></div>
</div><div id="comments"><h2>3 Comments</h2>
<ol><li><p>Great reporting, thanks for covering this.</p></li>
<li><p>I live nearby and can confirm the roads were closed.</p></li></ol>
<div id="respond"><h3>Leave a Reply</h3><p>Your email address will not be published.</p>
<p>12 x 3 = ?</p></div></div>
<footer>Copyright 2021 The Regional Ledger · Powered by WordPress</footer></body></html>
"""


def lee_paragraphs(text: str) -> list[str]:
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", text)
    return [" ".join(sentences[i:i + 2]) for i in range(0, len(sentences), 2)]


def page(template: str, title: str, paragraphs: list[str], date: str) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
    return template.format(title=html.escape(title), body=body, date=date)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    seed = (ROOT / "examples/seeds/000_b4a537f1d5559298.txt").read_text(encoding="utf-8")
    blocks = [b.strip() for b in seed.split("\n\n") if b.strip()]
    title, body = blocks[0], blocks[2:-2]  # title, date, body ..., comment form lines
    lee = (ROOT / "tests/data/lee_background.cor").read_text(encoding="utf-8").splitlines()
    pages = {"tehrantimes-iran-iraq.html": (MEHR, title, body, "")}
    for k, i in enumerate((5, 17, 42)):
        paras = lee_paragraphs(lee[i])
        pages[f"example-news-{k}.html"] = (NEWS, " ".join(paras[0].split()[:9]), paras,
                                           f"December {k + 3}, 2001 10:1{k} AEDT")
    for k, i in enumerate((60, 77)):
        paras = lee_paragraphs(lee[i])
        pages[f"regional-ledger-{k}.html"] = (BLOG, " ".join(paras[0].split()[:8]), paras,
                                              f"2001-12-1{k}")
    boilerplate = {
        MEHR: ["Leave a Comment", "0 + 0 =", "Your email address will not be published.",
               "All Content by Tehran Times is licensed under a Creative Commons Attribution "
               "4.0 International License.", "Share this article on Facebook | Twitter | "
               "Telegram", "Iran, Iraq discuss border security"],
        NEWS: ["Share on Facebook Share on Twitter Email this story",
               "Read more stories from Example Broadcasting News",
               "Subscribe to our newsletter for the day's top stories.",
               "© 2001 Example Broadcasting News. All rights reserved.",
               "Bushfire threat eases", "Skip to main content | Accessibility | Sign in"],
        BLOG: ["Leave a Reply", "12 x 3 = ?", "Your email address will not be published.",
               "Copyright 2021 The Regional Ledger · Powered by WordPress"],
    }
    expected = {}
    for name, (template, title, paras, date) in pages.items():
        (OUT / name).write_text(page(template, title, paras, date), encoding="utf-8")
        expected[name] = {"title": title, "body": paras, "boilerplate": boilerplate[template]}
    text = json.dumps(expected, indent=1, ensure_ascii=False) + "\n"
    (OUT.parent / "html_expected.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
