//! The appendix as a person reads it: CSV (RFC 4180, UTF-8 with a byte-order mark so that spreadsheet programs
//! show Vietnamese correctly) and a Markdown table, with the seed report's column heads.

use domain::appendix::AppendixRow;

use crate::routes::AppendixView;

/// Column heads of the seed's appendix; the last names the cut-off date.
fn heads(view: &AppendixView) -> [String; 5] {
    [
        "TT".to_owned(),
        "Nội dung nhiệm vụ".to_owned(),
        "Khối lượng/số lượng công việc của nhiệm vụ".to_owned(),
        "Thời gian hoàn thành nhiệm vụ".to_owned(),
        format!("Kết quả đã thực hiện đến {}", view.as_of_text),
    ]
}

fn cells(row: &AppendixRow) -> [&str; 5] {
    [&row.tt, &row.content, &row.target_text, &row.deadline_text, &row.result_text]
}

pub fn csv(view: &AppendixView) -> String {
    let mut out = String::from("\u{feff}");
    let mut line = |cells: &[&str]| {
        let quoted: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    };
    let heads = heads(view);
    line(&heads.iter().map(String::as_str).collect::<Vec<_>>());
    for row in &view.rows {
        line(&cells(row));
    }
    out
}

pub fn markdown(view: &AppendixView) -> String {
    let mut out = format!("**{}**\n\nKết quả thực hiện đến {}\n\n", markdown_cell(&view.title), view.as_of_text);
    let heads = heads(view);
    out.push_str(&format!("| {} |\n", heads.iter().map(|head| markdown_cell(head)).collect::<Vec<_>>().join(" | ")));
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for row in &view.rows {
        let cells: Vec<String> = cells(row).iter().map(|cell| markdown_cell(cell)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

fn markdown_cell(cell: &str) -> String {
    cell.replace('\\', "\\\\").replace('|', "\\|").replace("\r\n", "<br>").replace('\n', "<br>")
}
