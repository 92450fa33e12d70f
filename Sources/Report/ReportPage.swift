import JSON

/// The report as one self-contained HTML file: inline CSS, the data as JSON in a
/// `<script type="application/json">` element, inline JavaScript that draws it
/// (SVG). It loads nothing from anywhere.
public enum ReportPage {
    /// The page for `data` (from `ReportData.build`), titled `title`.
    public static func html(title: String, data: JSONValue) -> String {
        // "</" cannot end the script element early: JSON allows "<\/" for it.
        let json = data.text.replacingOccurrences(of: "</", with: "<\\/")
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>memjournal report: \(escape(title))</title>
            <style>
            \(style)
            </style>
            </head>
            <body>
            \(body)
            <script type="application/json" id="report-data">\(json)</script>
            <script>
            \(ReportScript.source)
            </script>
            </body>
            </html>

            """
    }

    /// Text made safe for HTML content and attributes.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    static let body = """
        <header>
          <h1>memjournal report: <span id="title"></span></h1>
          <dl id="facts"></dl>
          <ul id="notes"></ul>
        </header>
        <main>
          <section id="timeline-section">
            <h2>Timeline</h2>
            <p class="help">Wheel or <kbd>+</kbd>/<kbd>-</kbd> zoom, drag or <kbd>←</kbd>/<kbd>→</kbd> pan, <kbd>0</kbd> resets.
              Hover a transaction to see it, click to keep it. Listener lanes per address space (grey: not inhibited,
              blue: inhibited, darker parts: drain then apply), red: an unprotected non-atomic window, orange: spurious
              faults on the lane of their vCPU.</p>
            <div id="timeline-box"><svg id="timeline" tabindex="0" role="img" aria-label="timeline"></svg></div>
            <pre id="details" aria-live="polite">Click a transaction.</pre>
          </section>
          <section id="times-section">
            <h2>Times</h2>
            <p id="shares"></p>
            <div id="histograms"></div>
          </section>
          <section id="map-section">
            <h2>Memory map after transaction <span id="map-seq"></span></h2>
            <p><input type="range" id="map-slider" min="0" value="0" aria-label="transaction">
              <button id="map-prev" type="button">◀</button><button id="map-next" type="button">▶</button></p>
            <div id="map"></div>
          </section>
          <section id="hazards-section">
            <h2>Unprotected non-atomic windows</h2>
            <table id="hazards"><thead><tr><th>transaction</th><th>as</th><th>range</th><th>length</th></tr></thead><tbody></tbody></table>
          </section>
          <section id="faults-section">
            <h2>Spurious faults</h2>
            <table id="faults"><thead><tr><th>#</th><th>vCPU</th><th>GPA</th><th>access</th><th>time</th><th>transaction</th></tr></thead><tbody></tbody></table>
          </section>
        </main>
        """

    static let style = """
        :root { --ink: #1d2330; --muted: #667085; --line: #d0d5dd; --tx: #98a2b3; --inh: #2e6fd8; --drain: #163d7a;
                --apply: #4e8ef0; --hazard: #d92d20; --fault: #f79009; --bg: #ffffff; }
        body { font: 14px/1.4 system-ui, sans-serif; color: var(--ink); background: var(--bg); margin: 0 1.5rem 2rem; }
        h1 { font-size: 1.4rem; margin: 1rem 0 .5rem; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
        dl#facts { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: 0; }
        dl#facts dt { color: var(--muted); } dl#facts dd { margin: 0; word-break: break-all; }
        ul#notes { color: #b54708; padding-left: 1.2rem; }
        .help { color: var(--muted); font-size: .9rem; }
        #timeline-box { border: 1px solid var(--line); overflow: hidden; }
        svg#timeline { display: block; width: 100%; cursor: grab; user-select: none; }
        svg#timeline:focus { outline: 2px solid var(--inh); }
        .lane-label { fill: var(--muted); font-size: 11px; } .axis { stroke: var(--line); } .tick { fill: var(--muted); font-size: 10px; }
        .tx .body { fill: var(--tx); } .tx.inhibited .body { fill: var(--inh); } .tx .drain { fill: var(--drain); }
        .tx .apply { fill: var(--apply); } .tx.hazard .body { fill: var(--hazard); } .tx.hazard .apply { fill: #f97066; } .tx.hazard .drain { fill: #912018; } .tx.selected .body { stroke: #000; stroke-width: 2; }
        .bin { fill: var(--tx); } .bin.inhibited { fill: var(--inh); } .bin.hazard { fill: var(--hazard); }
        .fault { fill: var(--fault); } .fault-bin { fill: var(--fault); }
        pre#details { background: #f8f9fb; border: 1px solid var(--line); padding: .5rem; min-height: 4rem; white-space: pre-wrap; }
        #histograms { display: flex; flex-wrap: wrap; gap: 1rem; } .hist { border: 1px solid var(--line); padding: .3rem; }
        .hist .bar { fill: var(--inh); } .hist .p50 { stroke: #12b76a; stroke-width: 2; } .hist .p99 { stroke: var(--hazard); stroke-width: 2; }
        .hist text { font-size: 10px; fill: var(--muted); }
        .space { margin: .5rem 0 1rem; } .space h3 { font-size: 1rem; margin: .3rem 0; }
        .bar-ram { fill: #32d583; } .bar-rom { fill: #fdb022; } .bar-rom_device { fill: #f670c7; } .bar-mmio { fill: #d0d5dd; }
        .columns { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; } ol { margin: 0; padding-left: 1.5rem; font-family: ui-monospace, monospace; font-size: 12px; }
        table { border-collapse: collapse; font-size: 12px; } td, th { border-bottom: 1px solid var(--line); padding: .15rem .6rem; text-align: left; }
        td { font-family: ui-monospace, monospace; }
        """
}
