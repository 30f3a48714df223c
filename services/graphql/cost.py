"""Static query cost: what an operation may cost, priced from its document before it runs.

Two measures, computed from the parsed document, the schema and the request's variables,
without executing anything:

- **cost** (points; the budget and the rate limiter count these): every field the response may
  hold counts 1, objects, scalars and `__typename` alike, since graphql-core's work and the
  response's size are per field. A list field counts 1 plus its selection once per element: its
  size argument (`limit`, `first`, `last`, `weeks`: the literal, else the request's variable,
  else the variable's default, else the argument's default) clamped to what the resolver accepts
  (a `limit` of 10^6 is refused by the resolver before any work, so it costs no more than 100),
  or, for a list without one, a fixed size (the taxonomy's role count for `roles`, 8 for the
  top-8 skill lists; a list of scalars counts its elements). These are upper bounds of the data.
  Some arguments add to their field's cost by value: a `filter` on a role costs what reading
  its figures may cost (services/graphql/filters.py `filter_price`), once per role it filters.
  Introspection lists (`__Schema.types`, `__Type.fields`, ...) count their mean length over this
  schema, so GraphiQL's own introspection query is priced near what it returns, and `ofType`
  counts its selection as often as the schema's type references are wrapped that deep (a mean,
  likewise), nothing below the deepest wrapping (`[X!]!`: 3), where it is always null.
- **nodes**: the fields selected once fragments are expanded, not multiplied by lists: the size
  of what validation and field collection walk (in the spirit of GitHub's node limit).

An operation whose root fields are all introspection (`__schema`, `__type`, `__typename`, one
of the first two among them) is held to its own budget, derived from the schema when the model
is built: twice the price of graphql-core's full introspection query
(`CostModel.introspection_budget`). Its cost is bounded by the schema's size, not by the
client, so a schema that grows cannot lock GraphiQL out, while anything that multiplies it
(fragment fan-outs, walks down the type graph) is still refused.

Fragments are priced ONCE each and memoized, so a fragment spread twice by each of 21 chained
fragments costs its real total, 2^21 times its leaf, after pricing 22 fragments: microseconds.
The walk is iterative, so chains and nesting as deep as the parser allows cannot exhaust
Python's stack. It runs BEFORE validation (strawberry's alias counter and graphql-core's rules
are what stall on such documents), so it accepts invalid documents: an unknown field counts
like a known one and its selection is still counted; an unknown fragment or a fragment cycle
adds nothing; validation then rejects them. `@skip`/`@include` are ignored: every field counts.
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    GraphQLWrappingType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    VariableNode,
    get_introspection_query,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
    parse,
    value_from_ast_untyped,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from strawberry.extensions import ValidationCache

from rolepulse.domain.compare import TOP_SKILLS
from rolepulse.domain.figures import MAX_BUCKETS
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.services.graphql.companies import companies_filter_price
from rolepulse.services.graphql.errors import LIMIT_MAX, WEEKS_MAX
from rolepulse.services.graphql.filters import (
    CELLS_FILTER_COST,
    POSTINGS_FILTER_COST,
    filter_price,
)
from rolepulse.services.graphql.skills import SKILL_PAY_COST
from rolepulse.services.postings_query import postings_filter_price
from rolepulse.services.ratelimit import Admission, throttled_error

# Arguments that bound a list's length, and the largest value each resolver accepts (larger
# ones are refused with BAD_USER_INPUT before any work; see services/graphql/errors.py).
SIZE_ARGUMENTS = ("limit", "first", "last", "weeks")
# A list field nobody sized (a new one, before its entry in `rolepulse_cost_model` is added)
# counts this many; a test holds every list of the schema to a size argument or an entry.
DEFAULT_LIST_SIZE = 100

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
TOO_MANY_NODES = "TOO_MANY_NODES"
# Costs are exact integers however large (700 chained fragments spreading the next twice cost
# about 2^700), but JSON readers hold numbers as doubles and Python refuses to print integers
# of more than 4,300 digits: what is reported is capped at the largest integer a double holds.
REPORTED_MAX = 2**53 - 1

# Root fields that only read the schema: an operation of nothing else, `__schema` or `__type`
# among them, is held to the introspection budget. (Only `__typename`s have no part the size of
# the schema: they keep the budget, as fragment fan-outs of them always did.)
INTROSPECTION_ROOT_FIELDS = frozenset({"__schema", "__type", "__typename"})
# graphql-core's introspection query with every option on. GraphiQL 3.9 (services/graphiql/)
# sends graphql-js's with descriptions only, a subset of these fields, so it costs less
# (tests/unit/services/test_cost.py reads it from the bundle and checks).
FULL_INTROSPECTION_QUERY = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)
# The introspection budget over the full introspection query's price on the schema: room for
# the schema to double, or for a client that also asks `__type` of a few types.
INTROSPECTION_HEADROOM = 2

Size = int | Fraction  # fractional only for introspection lists (mean lengths)
# An argument priced by its value: (the request's value, or None when absent) -> added points.
ArgumentPrice = Callable[[Any], int]


@dataclass(frozen=True, slots=True)
class QueryCost:
    """A priced operation: `cost` in points, `nodes` in fields selected (see the module doc);
    `introspection` when its root fields are all introspection fields."""

    cost: int
    nodes: int
    introspection: bool = False


@dataclass(frozen=True, slots=True)
class _FieldPrice:
    """How one schema field is priced, precomputed so the walk does one lookup per field."""

    type: GraphQLNamedType | None  # the field's named type (None: unknown field)
    is_list: bool
    size_argument: str | None  # the argument that bounds the list, if any
    size_default: int | None  # that argument's default in the schema
    size_cap: int  # the largest size the resolver accepts
    fixed_size: Size  # a list without a size argument: its documented size
    argument_prices: tuple[tuple[str, ArgumentPrice], ...] = ()  # added once per field instance
    # A list of a connection (`edges`): as long as the enclosing field's `first` says.
    sized_by_page: bool = False


_UNKNOWN = _FieldPrice(None, False, None, None, 1, 1)


@dataclass(frozen=True)
class CostModel:
    """Pricing tables of one schema; `analyze` prices documents with them."""

    schema: GraphQLSchema
    prices: Mapping[tuple[str, str], _FieldPrice]
    list_sizes: Mapping[str, Size]  # "Type.field" -> size of lists without a size argument
    max_wrapping: int  # the most List/NonNull wrappers around any type in the schema
    # `ofType` at wrapping level k (index k - 1): of the schema's type references wrapped at
    # least k - 1 times, the share wrapped at least k times (its selection is not null).
    of_type_odds: tuple[Size, ...] = ()
    # FULL_INTROSPECTION_QUERY's price on this schema (set by `build`).
    introspection_cost: int = 0

    def introspection_budget(self, budget: int) -> int:
        """The budget of introspection-only operations: `budget`, or more for a large schema."""
        return max(budget, INTROSPECTION_HEADROOM * self.introspection_cost)

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        *,
        size_caps: Mapping[str, int],
        list_sizes: Mapping[str, Size],
        default_list_size: int,
        argument_prices: Mapping[str, Mapping[str, ArgumentPrice]] | None = None,
        page_lists: Iterable[str] = (),
    ) -> CostModel:
        """Price every field of `schema` (introspection types included).

        `size_caps`: size argument -> largest accepted value. `list_sizes`: "Type.field" -> size
        of a list without a size argument (over the introspection sizes measured on `schema`);
        any other list counts `default_list_size`. `page_lists`: "Type.field" lists of a
        connection type (`edges`), as long as the size argument (`first`) of the field that
        returned the connection; their `list_sizes` entry counts where none encloses them.
        """
        paged = frozenset(page_lists)
        sizes = {**introspection_list_sizes(schema), **list_sizes}
        prices: dict[tuple[str, str], _FieldPrice] = {}
        for type_name, named in schema.type_map.items():
            if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
                for field_name, definition in named.fields.items():
                    fixed = sizes.get(f"{type_name}.{field_name}", default_list_size)
                    price = _price(definition, size_caps, fixed)
                    by_value = (argument_prices or {}).get(f"{type_name}.{field_name}", {})
                    if by_value:
                        price = dataclasses.replace(
                            price,
                            argument_prices=tuple(
                                (a, f) for a, f in by_value.items() if a in definition.args
                            ),
                        )
                    if f"{type_name}.{field_name}" in paged:
                        price = dataclasses.replace(price, sized_by_page=True)
                    prices[type_name, field_name] = price
        if schema.query_type is not None:  # the meta fields only the query root has
            prices[schema.query_type.name, "__schema"] = _price(SchemaMetaFieldDef, {}, 1)
            prices[schema.query_type.name, "__type"] = _price(TypeMetaFieldDef, {}, 1)
        depths = _wrapping_depths(schema)
        deepest = max(depths, default=0)
        odds = tuple(
            Fraction(sum(d >= k for d in depths), sum(d >= k - 1 for d in depths))
            for k in range(1, deepest + 1)
        )
        model = cls(schema, prices, sizes, deepest, odds)
        introspection = analyze(model, parse(FULL_INTROSPECTION_QUERY)).cost
        return dataclasses.replace(model, introspection_cost=introspection)


def _price(definition: GraphQLField, size_caps: Mapping[str, int], fixed: Size) -> _FieldPrice:
    size_argument = next((a for a in SIZE_ARGUMENTS if a in definition.args), None)
    default, cap = None, 1
    if size_argument is not None:
        raw = definition.args[size_argument].default_value
        default = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        cap = size_caps.get(size_argument, math.ceil(fixed))
    return _FieldPrice(
        type=get_named_type(definition.type),
        is_list=is_list_type(get_nullable_type(definition.type)),
        size_argument=size_argument,
        size_default=default,
        size_cap=cap,
        fixed_size=fixed,
    )


def introspection_list_sizes(schema: GraphQLSchema) -> dict[str, Size]:
    """Each introspection list's mean length over where it can be asked, on `schema`.

    The mean, not the maximum: `__Type.fields` is asked of every type, and pricing each at the
    widest type's length priced GraphiQL's introspection query at 30 times what it returns. A
    walk down the type graph (`types { fields { type { fields ...`) still multiplies them at
    every level, so deep introspection stays expensive.
    """
    named = list(schema.type_map.values())
    with_fields = [t for t in named if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)]
    fields = [f for t in with_fields for f in t.fields.values()]
    abstract = [t for t in named if isinstance(t, GraphQLInterfaceType | GraphQLUnionType)]
    directives = schema.directives
    return {
        "__Schema.types": len(named),
        "__Schema.directives": len(directives),
        "__Type.fields": _mean((len(t.fields) for t in with_fields), len(named)),
        "__Type.interfaces": _mean((len(t.interfaces) for t in with_fields), len(named)),
        "__Type.possibleTypes": _mean(
            (len(schema.get_possible_types(t)) for t in abstract), len(named)
        ),
        "__Type.enumValues": _mean(
            (len(t.values) for t in named if isinstance(t, GraphQLEnumType)), len(named)
        ),
        "__Type.inputFields": _mean(
            (len(t.fields) for t in named if isinstance(t, GraphQLInputObjectType)), len(named)
        ),
        "__Field.args": _mean((len(f.args) for f in fields), len(fields)),
        "__Directive.args": _mean((len(d.args) for d in directives), len(directives)),
        "__Directive.locations": _mean((len(d.locations) for d in directives), len(directives)),
    }


def _mean(lengths: Iterable[int], count: int) -> Size:
    return Fraction(sum(lengths), count) if count else 0


def _wrapping_depths(schema: GraphQLSchema) -> list[int]:
    """How many List/NonNull wrappers each type reference of the schema has (field, argument
    and input field types): what `ofType` walks down."""
    types: list[GraphQLType] = []
    for named in schema.type_map.values():
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for definition in named.fields.values():
                types.append(definition.type)
                types.extend(a.type for a in definition.args.values())
        elif isinstance(named, GraphQLInputObjectType):
            types.extend(f.type for f in named.fields.values())
    types.extend(a.type for d in schema.directives for a in d.args.values())
    depths = []
    for wrapped in types:
        depth = 0
        while isinstance(wrapped, GraphQLWrappingType):
            wrapped, depth = wrapped.of_type, depth + 1
        depths.append(depth)
    return depths


# A named fragment's memo key: its name, the `ofType` depth and the enclosing connection's page
# size (both change what it costs).
_FragmentKey = tuple[str, int, Size | None]


class _Frame:
    """One selection set being priced; folded into its parent frame when its end is reached."""

    __slots__ = (
        "cost",
        "extra",
        "fragment",
        "index",
        "nodes",
        "page",
        "parent",
        "selections",
        "size",
        "wrapping",
    )

    def __init__(
        self,
        parent: GraphQLNamedType | None,
        selections: tuple[SelectionNode, ...],
        *,
        size: Size | None = None,
        fragment: _FragmentKey | None = None,
        wrapping: int = 0,
        extra: int = 0,
        page: Size | None = None,
    ) -> None:
        self.parent = parent
        self.selections = selections
        self.index = 0
        self.cost: Size = 0
        self.nodes = 0
        # A field's selection: repeated once per element (its list size, or 1 for an object).
        self.size = size
        # A fragment definition: its total is memoized under this key when folded.
        self.fragment = fragment
        # How many `ofType` steps led here: below the schema's deepest wrapping, it is null.
        self.wrapping = wrapping
        # What the field's arguments add to it by value (`argument_prices`), once.
        self.extra = extra
        # Inside a connection: the page size its `edges` hold (the field's `first`).
        self.page = page

    def total(self) -> tuple[Size, int]:
        if self.size is None:  # operation, fragment or inline fragment: its selections only
            return self.cost, self.nodes
        # The field itself counts 1 in both, plus what its arguments add.
        return 1 + self.extra + self.size * self.cost, 1 + self.nodes


def analyze(
    model: CostModel,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
    *,
    reads: set[str] | None = None,
) -> QueryCost:
    """Price the operation `operation_name` of `document`; unnamed, the costliest of them (a
    document of several operations without a name fails at execution, but is priced first).

    `reads`, if given, collects the names of the variables the price depends on.
    """
    variables = variables or {}
    if reads is not None:
        variables = _Recording(variables, reads)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    memo: dict[_FragmentKey, tuple[Size, int]] = {}  # shared by the document's operations
    best = QueryCost(0, 0)
    for operation in operations:
        priced = _price_operation(model, operation, fragments, memo, variables)
        if (priced.cost, priced.nodes) > (best.cost, best.nodes):
            best = dataclasses.replace(
                priced, introspection=_introspection_only(operation, fragments)
            )
    return best


def _introspection_only(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> bool:
    """True when every root field of the query `operation` is an introspection field and one
    is `__schema` or `__type`, through fragments and inline fragments (each fragment looked at
    once: a fan-out costs nothing here)."""
    if operation.operation is not OperationType.QUERY:
        return False
    pending = list(operation.selection_set.selections)
    seen: set[str] = set()
    schema_sized = False
    while pending:
        selection = pending.pop()
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name not in INTROSPECTION_ROOT_FIELDS:
                return False
            schema_sized = schema_sized or name != "__typename"
        elif isinstance(selection, InlineFragmentNode):
            pending.extend(selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen and name in fragments:
                seen.add(name)
                pending.extend(fragments[name].selection_set.selections)
    return schema_sized


def _price_operation(
    model: CostModel,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    memo: dict[_FragmentKey, tuple[Size, int]],
    variables: Mapping[str, Any],
) -> QueryCost:
    schema = model.schema
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    defaults = {
        v.variable.name.value: value_from_ast_untyped(v.default_value)
        for v in operation.variable_definitions or ()
        if v.default_value is not None
    }
    in_progress: set[_FragmentKey] = set()
    stack = [_Frame(root, tuple(operation.selection_set.selections))]
    while True:
        frame = stack[-1]
        if frame.index == len(frame.selections):
            stack.pop()
            cost, nodes = frame.total()
            if frame.fragment is not None:
                memo[frame.fragment] = (cost, nodes)
                in_progress.discard(frame.fragment)
            if not stack:
                return QueryCost(math.ceil(cost), nodes)
            stack[-1].cost += cost
            stack[-1].nodes += nodes
            continue
        selection = frame.selections[frame.index]
        frame.index += 1
        if isinstance(selection, FieldNode):
            name = selection.name.value
            sub = selection.selection_set
            parent = frame.parent
            price = _UNKNOWN if parent is None else model.prices.get((parent.name, name), _UNKNOWN)
            wrapping = 0
            if name == "ofType" and parent is not None and parent.name == "__Type":
                wrapping = frame.wrapping + 1
                if wrapping > model.max_wrapping:
                    sub = None  # always null this deep: the field alone is in the response
            page: Size | None = None
            if price.is_list and price.sized_by_page and frame.page is not None:
                size = frame.page
            else:
                size = _list_size(price, selection, variables, defaults) if price.is_list else 1
                if wrapping and wrapping <= len(model.of_type_odds):
                    # Null as often as type references stop wrapping here: a mean, like the
                    # introspection lists' lengths.
                    size = model.of_type_odds[wrapping - 1]
                if not price.is_list and price.size_argument is not None:
                    # A connection (`postings(first:)`): its `edges` hold `first` elements.
                    page = _list_size(price, selection, variables, defaults)
            extra = 0
            if price.argument_prices:
                extra = _argument_cost(price, selection, variables, defaults)
            if sub is None or not sub.selections:
                frame.cost += extra + (1 + size if price.is_list else 1)  # scalar list: elements
                frame.nodes += 1
                continue
            child = price.type if is_composite_type(price.type) else None
            stack.append(
                _Frame(
                    child,
                    tuple(sub.selections),
                    size=size,
                    wrapping=wrapping,
                    extra=extra,
                    page=page,
                )
            )
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            parent = schema.get_type(condition.name.value) if condition else frame.parent
            selections = tuple(selection.selection_set.selections)
            stack.append(_Frame(parent, selections, wrapping=frame.wrapping, page=frame.page))
        elif isinstance(selection, FragmentSpreadNode):
            key = (selection.name.value, frame.wrapping, frame.page)
            known = memo.get(key)
            if known is not None:
                frame.cost += known[0]
                frame.nodes += known[1]
                continue
            definition = fragments.get(key[0])
            if definition is None or key in in_progress:
                continue  # unknown fragment or a cycle: validation rejects the document
            in_progress.add(key)
            parent = schema.get_type(definition.type_condition.name.value)
            selections = tuple(definition.selection_set.selections)
            stack.append(
                _Frame(parent, selections, fragment=key, wrapping=frame.wrapping, page=frame.page)
            )


def _list_size(
    price: _FieldPrice,
    selection: FieldNode,
    variables: Mapping[str, Any],
    defaults: Mapping[str, Any],
) -> Size:
    if price.size_argument is None:
        return price.fixed_size
    value: Any = price.size_default
    for argument in selection.arguments or ():
        if argument.name.value != price.size_argument:
            continue
        node = argument.value
        if isinstance(node, IntValueNode):
            value = int(node.value)
        elif isinstance(node, VariableNode):
            name = node.name.value
            if name in variables:
                value = variables[name]
            elif name in defaults:
                value = defaults[name]
            # neither: the argument's own default, as execution would use
        else:
            value = None  # not an integer: the request fails; priced at the cap meanwhile
    if not isinstance(value, int) or isinstance(value, bool):
        return price.size_cap
    return min(max(value, 0), price.size_cap)


def _argument_cost(
    price: _FieldPrice,
    selection: FieldNode,
    variables: Mapping[str, Any],
    defaults: Mapping[str, Any],
) -> int:
    total = 0
    for name, priced in price.argument_prices:
        node = next((a.value for a in selection.arguments or () if a.name.value == name), None)
        value: Any = None
        if isinstance(node, VariableNode):
            key = node.name.value
            value = variables[key] if key in variables else defaults.get(key)
        elif node is not None:
            value = value_from_ast_untyped(node, {**defaults, **variables})
        total += priced(value)
    return total


class _Recording(Mapping[str, Any]):
    """A read-only view of the request's variables that notes which names were looked up."""

    def __init__(self, variables: Mapping[str, Any], reads: set[str]) -> None:
        self._variables = variables
        self._reads = reads

    def __getitem__(self, name: str) -> Any:
        self._reads.add(name)
        return self._variables[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self._reads.add(name)
        return name in self._variables

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables)

    def __len__(self) -> int:
        return len(self._variables)


_MISSING = object()


@dataclass(slots=True)
class _CacheEntry:
    document: DocumentNode  # held, so its id() cannot be reused while the entry lives
    reads: tuple[str, ...]  # the variables its price depends on
    prices: dict[tuple[Any, ...], QueryCost]  # by those variables' values


class CostCache:
    """Prices each document once per set of values of the variables its price depends on.

    Keyed on the document OBJECT: ParserCache hands back the same object for the same query
    text, and hashing a DocumentNode walks the whole tree (25 us for the contract query, as long
    as pricing it). Most queries' prices depend on no variable at all (the contract query's
    `$a`/`$b` are slugs), so a repeated query is priced by one dict lookup.
    """

    MAX_VARIANTS = 16  # per document: distinct `limit: $n` values kept

    def __init__(self, model: CostModel, maxsize: int = 512) -> None:
        self.model = model
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, str | None], _CacheEntry] = OrderedDict()

    def price(
        self,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
    ) -> QueryCost:
        variables = variables or {}
        key = (id(document), operation_name)
        entry = self._entries.get(key)
        if entry is None or entry.document is not document:
            reads: set[str] = set()
            priced = analyze(self.model, document, variables, operation_name, reads=reads)
            entry = _CacheEntry(document, tuple(sorted(reads)), {})
            self._entries[key] = entry
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
            values = _values(entry.reads, variables)
            known = entry.prices.get(values) if values is not None else None
            if known is not None:
                return known
            priced = analyze(self.model, document, variables, operation_name)
        values = _values(entry.reads, variables)
        if values is not None and len(entry.prices) < self.MAX_VARIANTS:
            entry.prices[values] = priced
        return priced


def _values(names: tuple[str, ...], variables: Mapping[str, Any]) -> tuple[Any, ...] | None:
    # With their types: `limit: $n` prices 1 and True differently, though 1 == True.
    values = tuple((type(v), v) for v in (variables.get(n, _MISSING) for n in names))
    try:
        hash(values)
    except TypeError:
        return None  # a list or an object where a size belongs: priced afresh each time
    return values


def rolepulse_cost_model(schema: GraphQLSchema, roles: Mapping[str, RoleInfo]) -> CostModel:
    """Our schema's pricing: lists without a size argument at their exact largest sizes."""
    taxonomy_roles = max(len(roles), 1)
    career_path = max((len(info.career_path) for info in roles.values()), default=1)
    return CostModel.build(
        schema,
        size_caps={"limit": LIMIT_MAX, "first": LIMIT_MAX, "last": LIMIT_MAX, "weeks": WEEKS_MAX},
        list_sizes={
            "Query.roles": taxonomy_roles,
            "Market.roles": taxonomy_roles,
            "Role.careerPath": career_path,
            "RoleComparison.sharedSkills": TOP_SKILLS,
            "RoleComparison.uniqueToA": TOP_SKILLS,
            "RoleComparison.uniqueToB": TOP_SKILLS,
            "Salary.histogram": MAX_BUCKETS,
            # Only the roles whose postings mention the skill: at most every role.
            "Skill.roles": taxonomy_roles,
            # Sized by `postings(first:)` / `skills(first:)` (page_lists); this many where
            # nothing encloses them.
            "PostingConnection.edges": LIMIT_MAX,
            "SkillConnection.edges": LIMIT_MAX,
            "MetroConnection.edges": LIMIT_MAX,
            "CompanyConnection.edges": LIMIT_MAX,
            # The roles with open postings there: at most every role.
            "Metro.roles": taxonomy_roles,
            "Company.roles": taxonomy_roles,
        },
        default_list_size=DEFAULT_LIST_SIZE,
        page_lists=(
            "PostingConnection.edges",
            "SkillConnection.edges",
            "MetroConnection.edges",
            "CompanyConnection.edges",
        ),
        # A filtered role reads rollups or postings (services/graphql/slicing.py); a comparison
        # reads them for both of its roles.
        argument_prices={
            "Query.role": {"filter": filter_price},
            "Query.compareRoles": {"filter": lambda value: 2 * filter_price(value)},
            "Subscription.roleUpdated": {"filter": filter_price},
            # A filtered page reads postings until it is full or its budget is spent, and its
            # totalCount may count them (services/postings_query.py).
            "Query.postings": {"filter": postings_filter_price},
            # Each skill's pay in a role reads that skill's rollup (services/graphql/skills.py),
            # whether or not `basis` is given.
            "SkillInRole.pay": {"basis": lambda _: SKILL_PAY_COST},
            # A metro reads its cell of every role, as a metro filter on each role would; a
            # company's figures read its open postings, as a companies filter does; ranked
            # companies read what answers the filter for every role, postings at most once
            # (services/graphql/metros.py, companies.py).
            "Query.metro": {"name": lambda _: taxonomy_roles * CELLS_FILTER_COST},
            "Query.company": {"name": lambda _: POSTINGS_FILTER_COST},
            "Query.companies": {
                "filter": lambda value: companies_filter_price(value, taxonomy_roles)
            },
        },
    )


class CostLimiter(ValidationCache):
    """Prices each operation and refuses it over the budget or the node limit, or when its
    client's rate-limit bucket (an `Admission` on the context) cannot pay for it; only an
    admitted operation is then validated, through strawberry's validation cache.

    One extension doing both, in that order, rather than a pricing extension listed before the
    validation cache: nothing then depends on the order of the hooks (ValidationCache validates
    even when an earlier hook set errors), and each request runs one extension's hooks fewer.
    Every result gets `extensions.cost = {requested, budget}` (requested 0 when the document did
    not parse; `budget` the one the operation was held to), with `throttleStatus` when rate
    limiting is on. An introspection-only operation is held to `introspection_budget`.
    """

    def __init__(self, prices: CostCache, budget: int, max_nodes: int, *, maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.prices = prices
        self.budget = budget
        self.introspection_budget = prices.model.introspection_budget(budget)
        self.max_nodes = max_nodes
        self.requested = 0
        self.applied_budget = budget

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        refused = bool(context.pre_execution_errors)  # by an earlier extension: not priced
        if not refused and context.graphql_document is not None:
            error = self._refusal(context.graphql_document)
            if error is not None:
                context.pre_execution_errors = [error]
                refused = True
        if refused:
            yield  # validating a refused document is exactly the work to avoid
            return
        yield from super().on_validate()

    def _refusal(self, document: DocumentNode) -> GraphQLError | None:
        context = self.execution_context
        variables = context.variables if isinstance(context.variables, Mapping) else None
        priced = self.prices.price(document, variables, context.operation_name)
        self.requested = min(priced.cost, REPORTED_MAX)
        budget = self.introspection_budget if priced.introspection else self.budget
        self.applied_budget = budget
        if priced.cost > budget:
            return GraphQLError(
                f"Query cost {self.requested} exceeds the budget of {budget} points per "
                "request: ask for fewer fields or smaller `limit`/`weeks`, or split the query "
                "(README: Query cost and rate limits).",
                extensions={
                    "code": QUERY_TOO_COMPLEX,
                    "cost": self.requested,
                    "budget": budget,
                },
            )
        if priced.nodes > self.max_nodes:
            nodes = min(priced.nodes, REPORTED_MAX)
            return GraphQLError(
                f"Query selects {nodes} fields once its fragments are expanded; at most "
                f"{self.max_nodes} are allowed per request.",
                extensions={"code": TOO_MANY_NODES, "nodes": nodes, "maxNodes": self.max_nodes},
            )
        admission = self._admission()
        if admission is not None:
            decision = admission.admit(priced.cost)
            if not decision.admitted:
                refusal = throttled_error(decision)
                return GraphQLError(refusal["message"], extensions=refusal["extensions"])
        return None

    def get_results(self) -> dict[str, Any]:
        cost: dict[str, Any] = {"requested": self.requested, "budget": self.applied_budget}
        admission = self._admission()
        if admission is not None:
            # Live for this caller; RateLimitGate rewrites it in answers the cache gives.
            cost["throttleStatus"] = admission.status().as_json()
        return {"cost": cost}

    def _admission(self) -> Admission | None:
        # The caller's bucket, on the context when rate limiting is on (services/app.py).
        admission = getattr(self.execution_context.context, "admission", None)
        return admission if isinstance(admission, Admission) else None
