#!/usr/bin/env python3
"""Builds config/sample/lustre-release-tags.atom, the quick start's bundled
feed, from the real Lustre tag list (tags.txt: "<tag> <ISO date>" lines from
lustre-release). The result has the shape of a GitHub tags.atom feed, newest
first. Usage: make-sample-feed.py TAGS_TXT SINCE_DATE > feed.atom
"""
import sys
from xml.sax.saxutils import escape

tags_path, since = sys.argv[1], sys.argv[2]
rows = []
for line in open(tags_path, encoding="utf-8"):
    parts = line.split()
    if len(parts) == 2 and parts[1] >= since:
        rows.append(parts)
rows.reverse()
out = sys.stdout
out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
out.write('<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-US">\n')
out.write('  <id>tag:github.com,2008:https://github.com/lustre/lustre-release/tags</id>\n')
out.write('  <link type="text/html" rel="alternate" href="https://github.com/lustre/lustre-release/tags"/>\n')
out.write('  <title>Tags from lustre-release</title>\n')
out.write('  <updated>%s</updated>\n' % rows[0][1])
for name, date in rows:
    n = escape(name)
    out.write('  <entry>\n')
    out.write('    <id>tag:github.com,2008:Repository/lustre-release/%s</id>\n' % n)
    out.write('    <updated>%s</updated>\n' % date)
    out.write('    <link rel="alternate" type="text/html" '
              'href="https://github.com/lustre/lustre-release/releases/tag/%s"/>\n' % n)
    out.write('    <title>%s</title>\n' % n)
    out.write('    <author><name>lustre</name></author>\n')
    out.write('  </entry>\n')
out.write('</feed>\n')
