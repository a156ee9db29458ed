// Queries whose rows must be the same over the virtual tables
// (heap_sql_vtab.h) and over a database `kiln-heap sql` wrote: full tables,
// joins, lookups by id, owner_id, reference_set_id and type_id (with values
// of every SQLite type and out of range), ranges and ORDER BY / GROUP BY in
// both directions. They name no ids, so they run on any dump; each orders
// its rows completely, so the two answers compare as text.
//
//   for (const std::string& sql : analysis::testing::EquivalenceQueries()) ...
#ifndef KILN_INSPECTION_ANALYSIS_SQL_EQUIVALENCE_QUERIES_H_
#define KILN_INSPECTION_ANALYSIS_SQL_EQUIVALENCE_QUERIES_H_

#include <string>
#include <vector>

namespace kiln::analysis::testing {

inline std::vector<std::string> EquivalenceQueries() {
  // Ids from the middle of each table, so that the lookups find something.
  const std::string mid_object = "(select count(*) / 2 from heap_graph_object)";
  const std::string mid_ref = "(select count(*) / 2 from heap_graph_reference)";
  const std::string an_owner =
      "(select owner_id from heap_graph_reference where id = " + mid_ref + ")";
  const std::string a_set =
      "(select reference_set_id from heap_graph_reference where id = " + mid_ref + ")";
  const std::string a_type = "(select type_id from heap_graph_object where id = " + mid_object + ")";
  std::vector<std::string> queries = {
      "select * from heap_graph_class order by id",
      "select * from heap_graph_object order by id",
      "select * from heap_graph_reference order by id",
      "select c.name, sum(o.self_size) from heap_graph_object o join heap_graph_class c "
      "on (o.type_id = c.id) where reachable = 1 group by 1 order by 2 desc, 1",
      "select c.name, count(*), sum(o.native_size), min(o.id) from heap_graph_class c "
      "join heap_graph_object o on o.type_id = c.id group by c.name order by c.name desc",
      "select r.id, c.name, r.field_name, t.name, p.self_size from heap_graph_object o "
      "join heap_graph_class c on o.type_id = c.id join heap_graph_reference r on r.owner_id = o.id "
      "join heap_graph_object p on p.id = r.owned_id join heap_graph_class t on t.id = p.type_id "
      "order by r.id",
      "select count(*) from heap_graph_object o join heap_graph_reference r "
      "on r.reference_set_id = o.reference_set_id where r.owner_id != o.id",
      "select count(*) from heap_graph_object o where reference_set_id is not null and "
      "reference_set_id != (select min(id) from heap_graph_reference r where r.owner_id = o.id)",
      "select s.name, count(*) from heap_graph_class c join heap_graph_class s "
      "on c.superclass_id = s.id group by 1 order by 2 desc, 1",
      "select r.owned_id, count(*) from heap_graph_reference r group by 1 order by 2 desc, 1 "
      "limit 20",
      "select owner_id, count(*) from heap_graph_reference group by owner_id order by 2 desc, 1 "
      "limit 20",
      "select id, owner_id from heap_graph_reference order by owner_id desc, id limit 50",
      "select id, owner_id, reference_set_id from heap_graph_reference "
      "order by reference_set_id, id limit 50",
      "select id, type_id from heap_graph_object order by id desc limit 20",
      "select id, name from heap_graph_class order by name, id",
      "select id, name from heap_graph_class order by name desc, id desc",
      "select distinct type_id from heap_graph_object order by 1",
      "select typeof(id), typeof(superclass_id), typeof(kind), typeof(location), count(*) "
      "from heap_graph_class group by 1, 2, 3, 4 order by 1, 2, 3, 4",
      "select typeof(id), typeof(reference_set_id), typeof(root_type), typeof(heap_type), "
      "typeof(self_size), count(*) from heap_graph_object group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5",
      "select typeof(owned_id), typeof(field_name), typeof(deobfuscated_field_name), count(*) "
      "from heap_graph_reference group by 1, 2, 3 order by 1, 2, 3",
      // owner_id and reference_set_id lookups.
      "select * from heap_graph_reference where owner_id = " + an_owner + " order by id",
      "select * from heap_graph_reference where owner_id in (select id from heap_graph_object "
      "where reference_set_id is not null order by id limit 20 offset 3) order by id",
      "select * from heap_graph_reference where reference_set_id = " + a_set + " order by id",
      "select * from heap_graph_reference where reference_set_id = " + a_set + " + 1 order by id",
      "select * from heap_graph_object where reference_set_id = " + a_set,
      "select * from heap_graph_object where reference_set_id = " + a_set + " + 1",
      "select o.id, r.id from heap_graph_object o join heap_graph_reference r "
      "on r.owner_id = o.id where o.id between " + mid_object + " - 50 and " + mid_object +
          " + 50 order by r.id",
      // type_id lookups.
      "select id from heap_graph_object where type_id = " + a_type + " order by id",
      "select id from heap_graph_object where type_id = " + a_type + " and id > " + mid_object +
          " order by id",
      "select count(*) from heap_graph_object where type_id = 0 and type_id = 1",
      "select count(*) from heap_graph_object where type_id = 100000",
      "select count(*) from heap_graph_object where type_id = '1'",
  };
  // Lookups by id with values of every type, in range and out.
  for (const char* table : {"heap_graph_class", "heap_graph_object", "heap_graph_reference"}) {
    const std::string count = std::string("(select count(*) from ") + table + ")";
    const std::vector<std::string> wheres = {
         std::string("id = 0"), "id = " + count + " - 1", "id = " + count, std::string("id = -1"),
          std::string("id = '3'"), std::string("id = 3.0"), std::string("id = 2.5"),
          std::string("id = 'x'"), std::string("id = x'03'"), std::string("id = null"),
          std::string("id is null"), std::string("id in (1, 4, 9, 4)"),
          std::string("id between 2 and 6"), "id > " + count + " - 4",
          std::string("id >= 2.5 and id < 5.5"), std::string("id > '4' and id < 8"),
          std::string("id <= 3"), std::string("id < 0"), std::string("id > 9223372036854775807"),
          std::string("id <= -9223372036854775808"), std::string("id = 9223372036854775807"),
          std::string("id > 1e300"), std::string("id < -1e300 or id = 1"),
          std::string("id = 1 and id = 2"), std::string("id > 3 and id < 3"),
          std::string("owned_id = 1 or id = 2")};
    for (const std::string& where : wheres) {
      if (where.find("owned_id") != std::string::npos &&
          std::string(table) != "heap_graph_reference") {
        continue;
      }
      queries.push_back(std::string("select * from ") + table + " where " + where + " order by id");
    }
  }
  return queries;
}

}  // namespace kiln::analysis::testing

#endif  // KILN_INSPECTION_ANALYSIS_SQL_EQUIVALENCE_QUERIES_H_
