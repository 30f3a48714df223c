"""Strawberry GraphQL schema over the aggregate read model."""
