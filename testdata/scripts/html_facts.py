#!/usr/bin/python3
"""Facts about an HTML page, read by parsers that are not dive-rs's, for the report tests.

    html_facts.py FILE [--strict]

Prints one JSON object: `parse_errors` (with --strict: html5lib, which implements the WHATWG
parsing algorithm, lists every parse error of the document; none for a well-formed page),
`elements` (tag name -> count), `attributes` ([tag, name, value] of every attribute),
`rows` (each <tr> or <div> carrying a class or data-name: its class, data-name, the text of
its cells and the value of each <data> element in it), `scripts` (the text of each <script>
element) and `text` (all text outside <script> and <style>).
"""
import json
import sys
from html.parser import HTMLParser

VOID = {"meta", "input", "br", "img", "link", "hr", "area", "base", "col", "embed",
        "source", "track", "wbr"}


class Facts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = {}
        self.attributes = []
        self.rows = []
        self.scripts = []
        self.text = []
        self.stack = []
        self.row = None
        self.cell = None

    def handle_starttag(self, tag, attrs):
        self.elements[tag] = self.elements.get(tag, 0) + 1
        named = dict(attrs)
        for name, value in attrs:
            self.attributes.append([tag, name, value])
        if tag in ("tr", "div") and ("class" in named or "data-name" in named):
            self.row = {"tag": tag, "class": named.get("class"), "name": named.get("data-name"),
                        "cells": [], "values": [], "depth": len(self.stack)}
            self.rows.append(self.row)
        if self.row is not None and tag in ("td", "dd"):
            self.cell = []
        if self.row is not None and tag == "data":
            self.row["values"].append(named.get("value"))
        if tag == "script":
            self.scripts.append("")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in ("td", "dd") and self.row is not None and self.cell is not None:
            self.row["cells"].append("".join(self.cell).strip())
            self.cell = None
        while self.stack:
            top = self.stack.pop()
            if top == tag:
                break
        if self.row is not None and tag == self.row["tag"] and len(self.stack) <= self.row["depth"]:
            self.row = None

    def handle_data(self, data):
        inside = self.stack[-1] if self.stack else ""
        if inside == "script":
            self.scripts[-1] += data
            return
        if inside == "style":
            return
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as file:
        document = file.read()
    errors = []
    if "--strict" in sys.argv[2:]:
        import html5lib
        parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
        parser.parse(document)
        errors = [f"{pos}: {code} {data}" for pos, code, data in parser.errors]
    facts = Facts()
    facts.feed(document)
    facts.close()
    for row in facts.rows:
        del row["depth"]
    json.dump({"parse_errors": errors, "elements": facts.elements,
               "attributes": facts.attributes, "rows": facts.rows,
               "scripts": facts.scripts, "text": "".join(facts.text)}, sys.stdout)


main()
