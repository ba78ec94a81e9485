//! The shutdown signal: SIGINT (Ctrl-C) or SIGTERM.

use std::future::Future;

/// A future that completes on SIGINT or SIGTERM. The handlers are installed when this is
/// called (not when the future is first polled), so a signal that arrives right after a
/// server said it is listening is never lost to the default action.
pub fn shutdown() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                (term, int) => {
                    if let Err(e) = term.and(int) {
                        tracing::warn!(error = %e, "cannot watch SIGTERM/SIGINT; stopping on Ctrl-C only");
                    }
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            tracing::info!("signal received, shutting down");
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("signal received, shutting down");
        }
    }
}
