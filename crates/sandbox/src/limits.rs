//! Per-run limits, chosen by the caller for each run.

use std::time::Duration;

/// How much a single run may consume. Every field is enforced; see the crate docs for how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// JavaScript heap cap in bytes (QuickJS's allocator refuses beyond it).
    pub memory_bytes: usize,
    /// Wall-clock budget for the whole run: compilation, execution, awaited promises, and
    /// conversion of the result.
    pub time: Duration,
    /// Native stack the interpreter may use, in bytes (deep recursion stops here).
    pub stack_bytes: usize,
    /// Largest result, in bytes of JSON.
    pub result_bytes: usize,
    /// Most console lines kept; later lines are counted, not kept.
    pub console_lines: usize,
    /// Most console bytes kept in total; a line is cut to fit.
    pub console_bytes: usize,
}

impl Limits {
    /// For workflow JavaScript nodes: 128 MB and 30 s, as in the original.
    pub fn workflow() -> Self {
        Limits {
            memory_bytes: 128 * 1024 * 1024,
            time: Duration::from_secs(30),
            stack_bytes: 512 * 1024,
            result_bytes: 16 * 1024 * 1024,
            console_lines: 200,
            console_bytes: 64 * 1024,
        }
    }

    /// For listener transforms, conditions and regexes: 16 MB and 100 ms.
    pub fn transform() -> Self {
        Limits {
            memory_bytes: 16 * 1024 * 1024,
            time: Duration::from_millis(100),
            stack_bytes: 256 * 1024,
            result_bytes: 1024 * 1024,
            console_lines: 50,
            console_bytes: 16 * 1024,
        }
    }

    /// The same limits with another time budget.
    pub fn with_time(mut self, time: Duration) -> Self {
        self.time = time;
        self
    }

    /// The same limits with another memory cap.
    pub fn with_memory(mut self, bytes: usize) -> Self {
        self.memory_bytes = bytes;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::workflow()
    }
}
