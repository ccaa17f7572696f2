// Layout help for the book's pages that CSS alone cannot give (pages.css does the rest).
// Local script, nothing fetched: the book renders offline.
(function () {
  "use strict";

  // Interactive views (plotly figures inlined in <iframe srcdoc>) size themselves to their
  // frame, but their documents keep the browser's 8 px body margin: they are 8 px too wide and
  // the frame shows a horizontal scroll bar. Once each frame has loaded, drop that margin (and
  // any sideways scrolling).
  function fitFrame(frame) {
    var doc;
    try {
      doc = frame.contentDocument;
    } catch (error) {
      return; // a frame from another origin: leave it alone
    }
    if (!doc || !doc.body) {
      return;
    }
    doc.body.style.margin = "0";
    doc.documentElement.style.overflowX = "hidden";
  }

  // A table wider than the column (many columns of single words: pages.css already lets its
  // cells wrap at spaces) is shrunk a step at a time, down to 0.65 em; one that still does not
  // fit breaks its words anywhere (class pages-squeezed) rather than scroll sideways.
  var SIZES = ["0.8em", "0.75em", "0.7em", "0.65em"];

  function fitTable(table) {
    var box = table.closest(".output, .pst-scrollable-table-container") || table.parentElement;
    table.style.fontSize = "";
    table.classList.remove("pages-squeezed");
    for (var i = 0; i < SIZES.length && table.offsetWidth > box.clientWidth; i++) {
      table.style.fontSize = SIZES[i];
    }
    if (table.offsetWidth > box.clientWidth) {
      table.classList.add("pages-squeezed");
    }
  }

  function fitTables() {
    document.querySelectorAll("div.cell_output table, .bd-article table.table").forEach(fitTable);
  }

  function setUp() {
    document.querySelectorAll("div.cell_output iframe[srcdoc]").forEach(function (frame) {
      frame.addEventListener("load", function () {
        fitFrame(frame);
      });
      fitFrame(frame);
    });
    fitTables();
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(fitTables, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
