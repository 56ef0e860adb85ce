//! Setting up the process before the collector starts: the console's format, the limit on open
//! files, the allocator's arenas, and giving up root. The binary's `main` calls each once, before
//! any thread starts, because each changes the whole process and some cannot be changed safely
//! later; only [`memory::give_back`] runs again, after each burst of work.

pub mod console;
pub mod memory;
pub mod open_files;
pub mod privileges;
