//! The ledger's own queries: the present state (the derived store) over the ledger's own lines.

use std::collections::BTreeMap;

use super::Ledger;
use crate::error::Result;
use crate::query::{CaseView, LineSource, Queries, QueryFilter, RecordView, StatsGrouping};
use crate::record::ParsedLine;
use crate::time::Date;

impl LineSource for Ledger {
    fn line(&self, seq: u64) -> Result<ParsedLine> {
        self.read(seq)
    }
}

impl Ledger {
    /// The queries over the present state (the derived store and the log).
    pub fn queries(&self) -> Queries<'_> {
        Queries::new(self.store(), self, self.size())
    }

    /// One record with its body in force and its status.
    pub fn record_view(&self, seq: u64) -> Result<RecordView> {
        self.queries().record_view(seq)
    }

    /// A person's integrity file: every record that names them, in time order.
    pub fn dossier(&self, person_id: &str) -> Result<Vec<RecordView>> {
        self.queries().dossier(person_id)
    }

    /// Records matching every given filter, in seq order.
    pub fn query(&self, filter: &QueryFilter) -> Result<Vec<RecordView>> {
        self.queries().query(filter)
    }

    /// Case states: reports, decisions, appeals and rectifications, each with its status.
    pub fn cases(&self, open_only: bool) -> Result<Vec<CaseView>> {
        self.queries().cases(open_only)
    }

    /// Rectifications still open whose due date is before `on`.
    pub fn overdue(&self, on: Date) -> Result<Vec<(CaseView, RecordView)>> {
        self.queries().overdue(on)
    }

    /// Counts for the annual assessment, grouped as asked.
    pub fn stats(&self, by: StatsGrouping, year: Option<i16>) -> Result<BTreeMap<(String, String), u64>> {
        self.queries().stats(by, year)
    }
}
