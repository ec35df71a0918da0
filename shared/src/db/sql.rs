//! Small SQL building blocks shared by bulk updates.

use sea_orm::sea_query::{CaseStatement, Expr, SimpleExpr};
use sea_orm::{ColumnTrait, Value};

/// `CASE key WHEN … THEN … END`: one value per row in a single bulk `UPDATE`.
pub fn case_by<K: ColumnTrait, I: Into<Value>, V: Into<Value>>(
    key: K,
    pairs: impl IntoIterator<Item = (I, V)>,
) -> SimpleExpr {
    let mut case = CaseStatement::new();
    for (id, value) in pairs {
        case = case.case(key.eq(id), Expr::val(value.into()));
    }
    case.into()
}
