//! The `users` table: one row per user name, created on first login.

use diesel::prelude::*;

use super::AnyConnection;
use super::schema::users;

pub fn ensure(conn: &mut AnyConnection, name: &str) -> QueryResult<()> {
    let now = super::now();
    match conn {
        AnyConnection::Sqlite(c) => diesel::insert_or_ignore_into(users::table)
            .values((users::username.eq(name), users::created_at.eq(now)))
            .execute(c)?,
        AnyConnection::Postgresql(c) => diesel::insert_into(users::table)
            .values((users::username.eq(name), users::created_at.eq(now)))
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(())
}
