//! A graph of async nodes over a typed state — the Rust analogue of the LangGraph graph in the
//! original demo, small enough to read in one sitting.
//!
//! A node takes the state by value and returns the new state. Edges say what runs next: a fixed
//! node, or a router function over the state (a conditional edge). [`START`] and [`END`] are the
//! virtual entry and exit. Running a graph opens one `invoke_workflow {name}` span, and each step
//! one span named after its node with `graph.node`, `graph.step`, `graph.path` and
//! `graph.triggers` (see `telemetry::semconv`), so the trace shows the route the state took.
//!
//! ```
//! # use graph::{Graph, NodeError, START, END};
//! # #[derive(Debug, thiserror::Error)] #[error("never")] struct Never;
//! # impl telemetry::genai::ErrorType for Never { fn error_type(&self) -> &'static str { "never" } }
//! # async fn demo() -> Result<(), graph::GraphError<Never>> {
//! let graph = Graph::builder("counter")
//!     .add_node("increment", |n: u32| async move { Ok::<_, Never>(n + 1) })
//!     .add_edge(START, "increment")
//!     .add_conditional_edge("increment", |n: &u32| if *n < 3 { "increment" } else { END })
//!     .build()
//!     .expect("valid graph");
//! assert_eq!(graph.run(0).await?, 3);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

use std::{collections::HashMap, future::Future, sync::Arc};

use futures::future::BoxFuture;
use telemetry::{
    OpenTelemetrySpanExt,
    genai::{ErrorType, GenAiSpan, record_io, strings},
    semconv::{self, operation},
};
use tracing::Instrument;

/// The virtual node every run starts from.
pub const START: &str = "__start__";
/// The virtual node that ends a run.
pub const END: &str = "__end__";

/// How many node steps one run may take before it is stopped (LangGraph's recursion limit):
/// a conditional edge that loops forever must end in an error, not a hung request.
pub const DEFAULT_STEP_LIMIT: usize = 25;

/// An error a node can fail with: any error with an `error.type` (`telemetry::genai::ErrorType`),
/// which becomes the failed span's — a short, low-cardinality name (`timeout`, …).
pub trait NodeError: std::error::Error + ErrorType + Send + Sync + 'static {}

impl<E: std::error::Error + ErrorType + Send + Sync + 'static> NodeError for E {}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum GraphError<E: NodeError> {
    /// A node returned an error.
    #[error("node `{node}` failed: {source}")]
    Node {
        /// The node.
        node: &'static str,
        /// Its error.
        #[source]
        source: E,
    },
    /// The run took more steps than the graph allows (a loop that never ends).
    #[error("graph `{graph}` exceeded its limit of {limit} steps")]
    StepLimit {
        /// The graph's name.
        graph: &'static str,
        /// Its step limit.
        limit: usize,
    },
    /// A conditional edge chose a node the graph does not have.
    #[error("router after `{from}` chose `{to}`, which is not a node of the graph")]
    UnknownNode {
        /// The node the router ran after.
        from: &'static str,
        /// What it chose.
        to: &'static str,
    },
}

impl<E: NodeError> ErrorType for GraphError<E> {
    fn error_type(&self) -> &'static str {
        match self {
            GraphError::Node { source, .. } => source.error_type(),
            GraphError::StepLimit { .. } => "graph_step_limit",
            GraphError::UnknownNode { .. } => "graph_unknown_node",
        }
    }
}

/// A graph that cannot run: reported by [`GraphBuilder::build`], before any request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GraphBuildError {
    /// Nothing says where a run starts.
    #[error("no edge leaves START")]
    NoEntry,
    /// A fixed edge points at a node that does not exist.
    #[error("edge {from} -> {to} names an unknown node")]
    UnknownEdgeTarget {
        /// Where the edge leaves.
        from: &'static str,
        /// Where it points.
        to: &'static str,
    },
    /// An edge leaves a node that does not exist.
    #[error("edge leaves `{0}`, which is not a node")]
    UnknownEdgeSource(&'static str),
    /// A node no edge leaves: a run would stop there without reaching END.
    #[error("node `{0}` has no outgoing edge")]
    DeadEnd(&'static str),
    /// Two nodes with one name.
    #[error("node `{0}` is added twice")]
    DuplicateNode(&'static str),
}

type NodeFn<S, E> = Arc<dyn Fn(S) -> BoxFuture<'static, Result<S, E>> + Send + Sync>;
type DescribeFn<S> = Arc<dyn Fn(&S) -> String + Send + Sync>;
type RouterFn<S> = Arc<dyn Fn(&S) -> &'static str + Send + Sync>;

enum Edge<S> {
    To(&'static str),
    Conditional(RouterFn<S>),
}

/// Collects nodes and edges; [`GraphBuilder::build`] checks them.
pub struct GraphBuilder<S, E> {
    name: &'static str,
    nodes: HashMap<&'static str, NodeFn<S, E>>,
    edges: HashMap<&'static str, Edge<S>>,
    step_limit: usize,
    duplicate: Option<&'static str>,
    io: Option<(DescribeFn<S>, DescribeFn<S>)>,
}

/// A validated graph. Cheap to share: wrap it in an `Arc` and run it from many requests.
pub struct Graph<S, E> {
    name: &'static str,
    nodes: HashMap<&'static str, NodeFn<S, E>>,
    edges: HashMap<&'static str, Edge<S>>,
    step_limit: usize,
    io: Option<(DescribeFn<S>, DescribeFn<S>)>,
}

impl<S, E> std::fmt::Debug for Graph<S, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut nodes: Vec<_> = self.nodes.keys().collect();
        nodes.sort();
        f.debug_struct("Graph")
            .field("name", &self.name)
            .field("nodes", &nodes)
            .finish()
    }
}

impl<S: Send + 'static, E: NodeError> Graph<S, E> {
    /// Starts describing a graph called `name` (its `invoke_workflow {name}` span).
    pub fn builder(name: &'static str) -> GraphBuilder<S, E> {
        GraphBuilder {
            name,
            nodes: HashMap::new(),
            edges: HashMap::new(),
            step_limit: DEFAULT_STEP_LIMIT,
            duplicate: None,
            io: None,
        }
    }

    /// Runs the state from START to END, one node at a time, in one `invoke_workflow` span.
    pub async fn run(&self, state: S) -> Result<S, GraphError<E>> {
        let span = GenAiSpan::internal(operation::INVOKE_WORKFLOW, self.name)
            .with(semconv::GEN_AI_WORKFLOW_NAME, self.name);
        let input = self
            .io
            .as_ref()
            .map(|(describe_input, _)| describe_input(&state));
        let done = span.run(self.steps(state)).await?;
        if let (Some(input), Some((_, describe_output))) = (input, &self.io) {
            record_io(span.span(), &input, &describe_output(&done));
        }
        Ok(done)
    }

    async fn steps(&self, mut state: S) -> Result<S, GraphError<E>> {
        let mut path: Vec<&'static str> = Vec::new();
        let mut previous = START;
        let mut current = self.next(START, &state)?;
        while current != END {
            if path.len() == self.step_limit {
                return Err(GraphError::StepLimit {
                    graph: self.name,
                    limit: self.step_limit,
                });
            }
            path.push(current);
            let node = &self.nodes[current];
            let span = step_span(current, &path, previous);
            state = match node(state).instrument(span.clone()).await {
                Ok(state) => state,
                Err(source) => {
                    telemetry::record_error(&span, source.error_type(), &source);
                    return Err(GraphError::Node {
                        node: current,
                        source,
                    });
                }
            };
            previous = current;
            current = self.next(current, &state)?;
        }
        Ok(state)
    }

    fn next(&self, from: &'static str, state: &S) -> Result<&'static str, GraphError<E>> {
        // `build` guarantees every node and START has an edge.
        let to = match &self.edges[from] {
            Edge::To(to) => to,
            Edge::Conditional(router) => router(state),
        };
        if to != END && !self.nodes.contains_key(to) {
            return Err(GraphError::UnknownNode { from, to });
        }
        Ok(to)
    }
}

fn step_span(node: &'static str, path: &[&'static str], trigger: &'static str) -> tracing::Span {
    let span = tracing::info_span!("graph step", otel.name = node, otel.kind = "internal");
    span.set_attribute(semconv::GRAPH_NODE, node);
    span.set_attribute(semconv::GRAPH_STEP, path.len() as i64);
    span.set_attribute(semconv::GRAPH_PATH, strings(path.iter().copied()));
    let trigger = if trigger == START { "start" } else { trigger };
    span.set_attribute(semconv::GRAPH_TRIGGERS, trigger);
    span
}

impl<S: Send + 'static, E: NodeError> GraphBuilder<S, E> {
    /// Adds a node: an async function from state to new state.
    pub fn add_node<F, Fut>(mut self, name: &'static str, node: F) -> Self
    where
        F: Fn(S) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S, E>> + Send + 'static,
    {
        let node: NodeFn<S, E> = Arc::new(move |state| Box::pin(node(state)));
        if self.nodes.insert(name, node).is_some() {
            self.duplicate.get_or_insert(name);
        }
        self
    }

    /// After `from`, always run `to` (a node or [`END`]).
    pub fn add_edge(mut self, from: &'static str, to: &'static str) -> Self {
        self.edges.insert(from, Edge::To(to));
        self
    }

    /// After `from`, run whichever node `router` names for the current state.
    pub fn add_conditional_edge<R>(mut self, from: &'static str, router: R) -> Self
    where
        R: Fn(&S) -> &'static str + Send + Sync + 'static,
    {
        self.edges.insert(from, Edge::Conditional(Arc::new(router)));
        self
    }

    /// How the run span shows the state going in and coming out, as the user and assistant
    /// messages of `gen_ai.input.messages` / `gen_ai.output.messages` (recorded only when
    /// content capture is on).
    pub fn describe_io<I, O>(mut self, input: I, output: O) -> Self
    where
        I: Fn(&S) -> String + Send + Sync + 'static,
        O: Fn(&S) -> String + Send + Sync + 'static,
    {
        self.io = Some((Arc::new(input), Arc::new(output)));
        self
    }

    /// Stops a run after `limit` node steps (default [`DEFAULT_STEP_LIMIT`]).
    pub fn step_limit(mut self, limit: usize) -> Self {
        self.step_limit = limit;
        self
    }

    /// The graph, once its nodes and edges are checked ([`GraphBuildError`]): a broken graph
    /// fails at start, not on a request.
    pub fn build(self) -> Result<Graph<S, E>, GraphBuildError> {
        if let Some(name) = self.duplicate {
            return Err(GraphBuildError::DuplicateNode(name));
        }
        if !self.edges.contains_key(START) {
            return Err(GraphBuildError::NoEntry);
        }
        for (&from, edge) in &self.edges {
            if from != START && !self.nodes.contains_key(from) {
                return Err(GraphBuildError::UnknownEdgeSource(from));
            }
            if let Edge::To(to) = edge
                && *to != END
                && !self.nodes.contains_key(to)
            {
                return Err(GraphBuildError::UnknownEdgeTarget { from, to });
            }
        }
        let mut names: Vec<_> = self.nodes.keys().copied().collect();
        names.sort_unstable();
        if let Some(dead) = names.into_iter().find(|n| !self.edges.contains_key(n)) {
            return Err(GraphBuildError::DeadEnd(dead));
        }
        Ok(Graph {
            name: self.name,
            nodes: self.nodes,
            edges: self.edges,
            step_limit: self.step_limit,
            io: self.io,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("boom at {0}")]
    struct Boom(u32);
    impl ErrorType for Boom {
        fn error_type(&self) -> &'static str {
            "boom"
        }
    }

    fn push(
        name: &'static str,
    ) -> impl Fn(Vec<&'static str>) -> futures::future::Ready<Result<Vec<&'static str>, Boom>> {
        move |mut seen| {
            seen.push(name);
            futures::future::ready(Ok(seen))
        }
    }

    #[tokio::test]
    async fn linear_graph_runs_nodes_in_edge_order() {
        let graph = Graph::builder("linear")
            .add_node("a", push("a"))
            .add_node("b", push("b"))
            .add_edge(START, "a")
            .add_edge("a", "b")
            .add_edge("b", END)
            .build()
            .unwrap();
        assert_eq!(graph.run(vec![]).await.unwrap(), vec!["a", "b"]);
    }

    #[tokio::test]
    async fn conditional_edge_routes_on_state() {
        let graph = Graph::builder("branch")
            .add_node("check", push("check"))
            .add_node("long", push("long"))
            .add_node("short", push("short"))
            .add_edge(START, "check")
            .add_conditional_edge(
                "check",
                |seen: &Vec<&str>| if seen.len() > 1 { "long" } else { "short" },
            )
            .add_edge("long", END)
            .add_edge("short", END)
            .build()
            .unwrap();
        assert_eq!(graph.run(vec![]).await.unwrap(), vec!["check", "short"]);
        assert_eq!(
            graph.run(vec!["x"]).await.unwrap(),
            vec!["x", "check", "long"]
        );
    }

    #[tokio::test]
    async fn a_loop_stops_at_the_step_limit() {
        let graph = Graph::builder("forever")
            .add_node("spin", push("spin"))
            .add_edge(START, "spin")
            .add_edge("spin", "spin")
            .step_limit(4)
            .build()
            .unwrap();
        let error = graph.run(vec![]).await.unwrap_err();
        assert!(
            matches!(error, GraphError::StepLimit { limit: 4, .. }),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_failing_node_stops_the_run_and_names_the_node() {
        let graph = Graph::builder("fails")
            .add_node("ok", push("ok"))
            .add_node("bad", |_: Vec<&'static str>| async { Err(Boom(7)) })
            .add_node("never", |_: Vec<&'static str>| async {
                panic!("must not run")
            })
            .add_edge(START, "ok")
            .add_edge("ok", "bad")
            .add_edge("bad", "never")
            .add_edge("never", END)
            .build()
            .unwrap();
        match graph.run(vec![]).await.unwrap_err() {
            GraphError::Node { node, source } => assert_eq!((node, source.0), ("bad", 7)),
            other => panic!("unexpected {other}"),
        }
    }

    #[tokio::test]
    async fn a_router_naming_an_unknown_node_is_an_error_not_a_panic() {
        let graph = Graph::builder("lost")
            .add_node("a", push("a"))
            .add_edge(START, "a")
            .add_conditional_edge("a", |_: &Vec<&str>| "nowhere")
            .build()
            .unwrap();
        assert!(matches!(
            graph.run(vec![]).await.unwrap_err(),
            GraphError::UnknownNode {
                from: "a",
                to: "nowhere"
            }
        ));
    }

    #[test]
    fn build_rejects_graphs_that_cannot_run() {
        let no_entry = Graph::<Vec<&str>, Boom>::builder("g")
            .add_node("a", push("a"))
            .add_edge("a", END);
        assert_eq!(no_entry.build().unwrap_err(), GraphBuildError::NoEntry);

        let unknown = Graph::<Vec<&str>, Boom>::builder("g").add_edge(START, "ghost");
        assert_eq!(
            unknown.build().unwrap_err(),
            GraphBuildError::UnknownEdgeTarget {
                from: START,
                to: "ghost"
            }
        );

        let dead_end = Graph::<Vec<&str>, Boom>::builder("g")
            .add_node("a", push("a"))
            .add_edge(START, "a");
        assert_eq!(dead_end.build().unwrap_err(), GraphBuildError::DeadEnd("a"));

        let twice = Graph::<Vec<&str>, Boom>::builder("g")
            .add_node("a", push("a"))
            .add_node("a", push("a"))
            .add_edge(START, "a")
            .add_edge("a", END);
        assert_eq!(
            twice.build().unwrap_err(),
            GraphBuildError::DuplicateNode("a")
        );
    }
}
