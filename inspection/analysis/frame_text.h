// FrameText: one stack frame as StackTraceElement.toString() spells it,
// "app.Main.run(Main.java:12)", for jstack-layout thread dumps (kiln-heap
// threads and the viewer's threads page).
#ifndef KILN_INSPECTION_ANALYSIS_FRAME_TEXT_H_
#define KILN_INSPECTION_ANALYSIS_FRAME_TEXT_H_

#include <string>

#include "inspection/analysis/heap_graph.h"

namespace kiln::analysis {

std::string FrameText(const StackFrameInfo& frame);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_FRAME_TEXT_H_
