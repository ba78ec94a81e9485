//! A deterministic network simulator for anything built on the ICE agent (feature `sim`).
//!
//! - [`Network`]: realms (the Internet and private networks behind NATs), hosts with
//!   interfaces that come and go, NAT models (full cone, address-restricted,
//!   port-restricted, symmetric), links with delay, jitter, loss and duplication, a STUN
//!   server, and pluggable servers ([`ServerCore`]) such as a TURN relay. Seeded: the same
//!   seed gives the same run.
//! - [`Simulation`]: endpoints ([`Endpoint`]) on hosts, driven on the network's virtual
//!   clock, which jumps to the next packet arrival or timer. A full ICE connection runs in
//!   a few milliseconds of CPU.
//! - [`IcePeer`]: an [`Agent`](crate::Agent) as an endpoint, recording events and
//!   application data.

mod network;
mod peer;
mod turn;

pub use network::{
    Delivery, HostId, LinkConfig, NatId, NatType, Network, NetworkStats, RealmId, ServerCore,
};
pub use peer::{Endpoint, IcePeer, Simulation};
pub use turn::TurnRelay;
