//! Setting up the process before the collector starts: the console's format, the allocator's
//! arenas, and giving up root. Everything here runs once, in the binary's `main`, before any thread
//! starts, because each of these changes the whole process and some may not be made later.

pub mod console;
pub mod memory;
pub mod privileges;
