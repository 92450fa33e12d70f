import Foundation
/// The page at `/`: the journals of the service's directory in a table that
/// re-reads `/api/journals` every second, so a journal that starts recording
/// appears and its counts grow without a reload. Inline CSS and script; it
/// loads nothing but its own API.
enum ListingPage {
    static func html(directory: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>memjournal — \(escaped(directory))</title>
        <style>
        body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
        table { border-collapse: collapse; }
        th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
        th:first-child, td:first-child, td.vmm, td.state { text-align: left; }
        tr.recording td.state { color: #0a6; font-weight: bold; }
        tr.cut td.state { color: #b00; }
        td.problem { color: #b00; text-align: left; }
        #status { color: #666; margin-top: 0.8em; }
        </style></head><body>
        <h1>Journals in <code>\(escaped(directory))</code></h1>
        <table id="journals"><thead><tr><th>journal</th><th>VMM</th><th>size</th><th>transactions</th><th>faults</th>
        <th>unprotected windows</th><th>state</th></tr></thead><tbody></tbody></table>
        <p id="status">reading…</p>
        <script>
        "use strict";
        const body = document.querySelector("#journals tbody");
        const status = document.getElementById("status");
        function cell(row, cls, text) {
          let td = row.querySelector("td." + cls);
          if (!td) { td = document.createElement("td"); td.className = cls; row.appendChild(td); }
          if (td.textContent !== String(text)) td.textContent = String(text);
          return td;
        }
        function size(bytes) {
          return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MiB" : (bytes / 1024).toFixed(1) + " KiB";
        }
        function render(journals) {
          const seen = new Set();
          for (const j of journals) {
            seen.add(j.name);
            let row = document.getElementById("journal-" + j.name);
            if (!row) {
              row = document.createElement("tr");
              row.id = "journal-" + j.name;
              const name = document.createElement("td");
              name.className = "name";
              const link = document.createElement("a");
              link.href = "/journals/" + encodeURIComponent(j.name);
              link.textContent = j.name;
              name.appendChild(link);
              row.appendChild(name);
              body.appendChild(row);
            }
            row.className = "journal " + (j.problem ? "problem" : j.state === "recording" ? "recording" : j.state === "clean" ? "clean" : "cut");
            if (j.problem) { cell(row, "problem", j.problem); continue; }
            cell(row, "vmm", j.vmm);
            cell(row, "size", size(j.bytes));
            cell(row, "transactions", j.transactions);
            cell(row, "faults", j.faults);
            cell(row, "hazards", j.hazards);
            cell(row, "state", j.state);
          }
          for (const row of Array.from(body.rows)) if (!seen.has(row.id.slice(8))) row.remove();
        }
        async function poll() {
          try {
            const response = await fetch("/api/journals", { cache: "no-store" });
            if (!response.ok) throw new Error("HTTP " + response.status);
            const journals = await response.json();
            render(journals);
            status.textContent = journals.length + " journal(s); read at " + new Date().toLocaleTimeString();
          } catch (error) {
            status.textContent = "the service did not answer (" + error.message + "); trying again";
          }
          setTimeout(poll, 1000);
        }
        poll();
        </script></body></html>
        """
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
