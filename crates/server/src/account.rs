//! The signed-in person's own account: second-factor enrolment, recovery codes (SEC-01).

use crate::routes::RouteTable;

/// Declares this module's routes.
pub fn routes(table: RouteTable) -> RouteTable {
    table
}
