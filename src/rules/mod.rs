//! Rule files (stub).
