import ITSMProtocol

/// A report written in the small Markdown subset the processes use (`# ` and `## ` headings,
/// `- ` lists, `|` tables, `**bold**`), as a standalone printable HTML page. Every text is
/// escaped, so a record's title cannot inject markup.
public enum MarkdownPage {
    public static func html(_ markdown: String, title: String) -> String {
        var body = ""
        var inTable = false
        var inList = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("|") {
                if line.hasPrefix("|---") { continue }
                let cells = line.split(separator: "|").map { inline(String($0).trimmingCharacters(in: .whitespaces)) }
                body += inTable ? "<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
                    : "<table>\n<tr>" + cells.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
                inTable = true
                continue
            }
            if inTable { body += "</table>\n"; inTable = false }
            if line.hasPrefix("- ") {
                body += (inList ? "" : "<ul>\n") + "<li>\(inline(String(line.dropFirst(2))))</li>\n"
                inList = true
                continue
            }
            if inList { body += "</ul>\n"; inList = false }
            if line.hasPrefix("## ") { body += "<h2>\(inline(String(line.dropFirst(3))))</h2>\n" }
            else if line.hasPrefix("# ") { body += "<h1>\(inline(String(line.dropFirst(2))))</h1>\n" }
            else if !line.isEmpty { body += "<p>\(inline(line))</p>\n" }
        }
        if inTable { body += "</table>\n" }
        if inList { body += "</ul>\n" }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(inline(title))</title>
            <style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}
            table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}th{background:#f3f3f3}</style>
            </head><body>
            \(body)</body></html>

            """
    }

    /// Text fit for a table cell: a `|` escaped, lines joined.
    public static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    static func inline(_ text: String) -> String {
        var escaped = HTMLText.escaped(text).replacingOccurrences(of: "\\|", with: "|")
        while let open = escaped.range(of: "**"), let close = escaped.range(of: "**", range: open.upperBound..<escaped.endIndex) {
            escaped.replaceSubrange(close, with: "</strong>")
            escaped.replaceSubrange(open, with: "<strong>")
        }
        return escaped
    }
}
