from analysis.html_assets import remote_urls


def test_remote_urls_lists_what_a_page_would_fetch():
    page = ('<script src="https://cdn.example.org/a.js"></script>'
            '<link rel="stylesheet" href="//fonts.example.org/f.css">'
            '<img src="local.png"><a href="https://example.org/read">a link</a>'
            '<link rel="canonical" href="https://example.org/page">'
            '<link rel="preconnect" href="https://fonts.example.org">'
            '<iframe srcdoc="&lt;script src=&quot;https://inner.example.org/b.js&quot;&gt;">'
            '</iframe><style>body { background: url(https://img.example.org/bg.png) }</style>')
    assert remote_urls(page) == ["//fonts.example.org/f.css", "https://cdn.example.org/a.js",
                                 "https://img.example.org/bg.png",
                                 "https://inner.example.org/b.js"]
    assert remote_urls("<p>offline</p><script>let x = 1;</script>") == []


def test_in_a_stylesheet_only_urls_count():
    css = ("@font-face { src: url('https://fonts.example.org/x.woff2') }\n"
           ".a { background: url(img/local.png) }  /* <img src=\"https://no.example\"> */")
    assert remote_urls(css, css=True) == ["https://fonts.example.org/x.woff2"]
