//! `dive-rs mcp`: a read-only MCP server over stdio for agents (rmcp, the official SDK).
//! Stdout carries only JSON-RPC; anything else goes to stderr.
//!
//! `access` says which images may be opened, `paging` makes cursors and keeps replies under
//! the cap, `tools` holds the server, the analyses opened and the tools that list them,
//! `reports` the tools over whole reports (CUDA, duplicates, gate, diff, fix).

mod access;
mod paging;
mod reports;
mod tools;

use anyhow::Context as _;
use rmcp::ServiceExt as _;

use crate::cmd::args::McpArgs;

/// Serves MCP on stdin/stdout until the client closes it.
pub(crate) fn mcp(args: &McpArgs) -> anyhow::Result<()> {
    let root = args
        .root
        .clone()
        .map_or_else(std::env::current_dir, Ok)
        .and_then(|r| r.canonicalize())
        .context("--root: cannot resolve the directory")?;
    // Relative image paths are the root's.
    std::env::set_current_dir(&root).context("--root: cannot enter the directory")?;
    let access = access::Access {
        root,
        network: args.allow_network,
        engine: args.allow_engine,
    };
    let server = tools::Server::new(access, args.allow_read, args.max_reply, args.cache.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let service = server
            .serve(rmcp::transport::stdio())
            .await
            .context("MCP: the client did not start a session")?;
        service.waiting().await.context("MCP: the session failed")?;
        anyhow::Ok(())
    })
}
