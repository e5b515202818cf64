//! A small pool of blocking connections: a semaphore bounds how many are out, idle ones
//! wait in a stack. Both engines' read paths and PostgreSQL's write path use it.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(crate) struct Pool<C> {
    idle: Mutex<Vec<C>>,
    permits: Arc<Semaphore>,
}

/// A checked-out connection slot. Put the connection back with [`Pool::give_back`] when it
/// is still healthy; dropping the lease without it just frees the slot.
pub(crate) struct Lease {
    _permit: OwnedSemaphorePermit,
}

impl<C> Pool<C> {
    pub(crate) fn new(size: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Arc::new(Semaphore::new(size.max(1))),
        }
    }

    /// Waits for a slot; returns an idle connection if one is there (else the caller opens
    /// one on its blocking thread).
    pub(crate) async fn checkout(&self) -> (Lease, Option<C>) {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("pool semaphore is never closed");
        let conn = self.idle.lock().expect("pool lock").pop();
        (Lease { _permit: permit }, conn)
    }

    /// Every idle connection, for closing them somewhere other than the current thread.
    pub(crate) fn take_idle(&self) -> Vec<C> {
        std::mem::take(&mut *self.idle.lock().expect("pool lock"))
    }

    pub(crate) fn give_back(&self, conn: C) {
        self.idle.lock().expect("pool lock").push(conn);
    }
}
